// One server for run.mjs, on any runtime: `--mode close` stops with the
// runtime's own server.close() on SIGTERM and exits when it calls back;
// `--mode lastcall` lets @lastcall/core (built, readinessDelayMs 0: the drain
// alone is measured) do it. Prints `LISTENING <port>`.
import { createServer } from 'node:http'
import { createShutdown } from '@lastcall/core'

const mode = process.argv[process.argv.indexOf('--mode') + 1]
const app = (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 })
  res.end('ok')
}
let server
if (mode === 'lastcall') {
  const shutdown = createShutdown({ logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000 })
  server = shutdown.attach(createServer(shutdown.handler(app)))
} else {
  server = createServer(app)
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
server.listen(0, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`))
