// Exits at once on SIGTERM.
import { createApp, createServer, listen } from '../app.mjs'

listen(createServer(createApp()))
process.on('SIGTERM', () => process.exit(0))
