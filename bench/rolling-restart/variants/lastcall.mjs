// lastcall core on node:http with the library's defaults (or a fixed
// readiness delay with --readiness-delay-ms).
import { createShutdown } from '@lastcall/core'
import { arg, createApp, createServer, listen } from '../app.mjs'

const delay = arg('--readiness-delay-ms')
const shutdown = createShutdown({ ...(delay === undefined ? {} : { readinessDelayMs: Number(delay) }), logger: false })
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
listen(shutdown.attach(createServer(shutdown.handler(createApp({ isReady: () => shutdown.isReady })))))
