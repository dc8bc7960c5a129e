// http-terminator with its defaults: terminate() on SIGTERM, then exit.
import { createHttpTerminator } from 'http-terminator'
import { createApp, createServer, listen } from '../app.mjs'

const server = listen(createServer(createApp()))
const terminator = createHttpTerminator({ server })
process.on('SIGTERM', () => terminator.terminate().then(() => process.exit(0)))
