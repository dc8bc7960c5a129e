// @lastcall/deno's gracefulShutdown() on Deno.serve with the library's
// defaults (or a fixed readiness delay with --readiness-delay-ms). Deno only:
// run.mjs --runtime deno.
import { gracefulShutdown } from '@lastcall/deno'
import { fetchApp, lastcallOptions, portArg } from '../app.mjs'

const shutdown = gracefulShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
const server = shutdown.serve({ port: portArg(), hostname: '127.0.0.1', onListen() {} }, fetchApp({ isReady: () => shutdown.isReady }))
console.log(`LISTENING ${server.addr.port}`)
