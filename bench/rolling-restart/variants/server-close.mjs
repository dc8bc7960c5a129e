// `server.close()` alone: stops accepting and exits when it calls back.
import { createApp, createServer, listen } from '../app.mjs'

const server = listen(createServer(createApp()))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
