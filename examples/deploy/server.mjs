// The service every recipe here runs: a plain node:http server with lastcall.
// PORT picks the port (default 3000). The platform's grace period comes in
// through LASTCALL_GRACE_PERIOD_MS, which lastcall reads itself and checks
// against timeoutMs at startup (a warning with the numbers when it does not fit).
// Under systemd (NOTIFY_SOCKET set) lastcall sends READY=1 and STOPPING=1;
// under PM2 it answers `wait_ready` and `shutdown_with_message`. Socket-activated
// (systemd/lastcall-example.socket, or any holder passing LISTEN_FDS), it serves
// the inherited socket instead of binding PORT, so a restart refuses nothing.
import { createServer } from 'node:http'
import { createShutdown, listenTarget } from '@lastcall/core'

const shutdown = createShutdown({
  // 25 s is the default; written out because every recipe's grace period is sized from it.
  timeoutMs: 25_000,
})

const server = shutdown.attach(
  createServer(
    shutdown.handler((req, res) => {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end(`hello from ${process.pid}\n`)
    }),
  ),
)

shutdown.onShutdown('close-db', async () => {
  // Close pools, flush queues and telemetry here; see the README's hooks section.
})

server.listen(listenTarget({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '0.0.0.0' }), () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`listening on ${port}`)
})
