/* global Bun */
// run.mjs's server for the `bun-serve` row, on Bun only: Bun.serve, stopped on
// SIGTERM by `--mode stop` (its own server.stop(), exit when it resolves: the
// usual hand-written handler) or `--mode lastcall` (@lastcall/bun's
// gracefulShutdown(), built, readinessDelayMs 0: the drain alone is measured).
// `--mode stop-at-once` is lastcall with the driver's linger turned off (the
// server told to stop(false) the instant the drain starts), to measure what the
// linger is for. Prints `LISTENING <port>`.
const mode = process.argv[process.argv.indexOf('--mode') + 1]
const app = () => new Response('ok', { headers: { 'Content-Type': 'text/plain' } })
let server
if (mode === 'lastcall') {
  const { gracefulShutdown } = await import('@lastcall/bun')
  const shutdown = gracefulShutdown({ logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000 })
  server = shutdown.attach(Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: shutdown.fetch(app) }))
} else if (mode === 'stop-at-once') {
  const { createShutdown } = await import('@lastcall/core')
  const { FetchGate } = await import('@lastcall/core/adapter')
  const shutdown = createShutdown({ logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000 })
  const gate = new FetchGate(shutdown)
  server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => gate.handle(request, app) })
  shutdown.attach({ stop: () => server.stop(false), force: () => server.stop(true), stopClosesIdle: false })
} else {
  server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app })
  process.on('SIGTERM', () => Promise.resolve(server.stop()).then(() => process.exit(0)))
}
console.log(`LISTENING ${server.port}`)
