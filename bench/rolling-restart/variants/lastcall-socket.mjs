// lastcall core with the library's defaults, listening where listenTarget()
// says: the socket a socket-activating manager passed (fd 3), else --port,
// with reusePort when given --reuse-port (Node ≥ 22.12).
import { createShutdown, listenTarget } from '@lastcall/core'
import { createApp, createServer, lastcallOptions, listening, portArg } from '../app.mjs'

const shutdown = createShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
const server = shutdown.attach(createServer(shutdown.handler(createApp({ isReady: () => shutdown.isReady }))))
server.listen(listenTarget({ port: portArg(), host: '127.0.0.1' }, { reusePort: process.argv.includes('--reuse-port') }), () => listening(server))
