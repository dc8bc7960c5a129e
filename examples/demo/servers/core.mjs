// The demo service with lastcall on plain node:http. Run by demo.mjs in a
// child process; also runnable alone: `node servers/core.mjs`, then SIGTERM it.
//
// Protocol with the parent (stdout lines):
//   DEMO_LISTENING <port>     once listening
//   LASTCALL_REPORT <json>    the shutdown report, just before exit
// Everything else on stdout/stderr is the service's own log.
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { createShutdown, formatReport } from '@lastcall/core'
import { createApp } from './app.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

const shutdown = createShutdown({ readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000 })
const app = createApp({ stop: shutdown.signal, isReady: () => shutdown.isReady })
const server = createServer(shutdown.handler(app))
shutdown.attach(server)

shutdown.on('closed', (report) => {
  console.log(formatReport(report))
  console.log(`LASTCALL_REPORT ${JSON.stringify(report)}`)
})

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`DEMO_LISTENING ${address.port}`)
})
