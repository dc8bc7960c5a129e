// stoppable with its defaults: server.stop() on SIGTERM, then exit.
import stoppable from 'stoppable'
import { createApp, createServer, listen } from '../app.mjs'

const server = stoppable(createServer(createApp()))
listen(server)
process.on('SIGTERM', () => server.stop(() => process.exit(0)))
