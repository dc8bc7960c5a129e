// lastcall core on node:http with the library's defaults (or a fixed
// readiness delay with --readiness-delay-ms).
import { createShutdown } from '@lastcall/core'
import { createApp, createServer, lastcallOptions, listen } from '../app.mjs'

const shutdown = createShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
listen(shutdown.attach(createServer(shutdown.handler(createApp({ isReady: () => shutdown.isReady })))))
