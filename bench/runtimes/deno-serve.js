/* global Deno */
// run.mjs's server for the `deno-serve` row, on Deno only: Deno.serve, stopped
// on SIGTERM by `--mode shutdown` (its own server.shutdown(), exit when it
// resolves: the usual hand-written handler) or `--mode lastcall`
// (@lastcall/deno's gracefulShutdown(), built, readinessDelayMs 0: the drain
// alone is measured). Prints `LISTENING <port>`.
const mode = Deno.args[Deno.args.indexOf('--mode') + 1]
const app = () => new Response('ok', { headers: { 'Content-Type': 'text/plain' } })
// Printed once the SIGTERM handler is in place (onListen comes before it: a loaded machine measured an exit by SIGTERM).
const options = { port: 0, hostname: '127.0.0.1', onListen() {} }
let server
if (mode === 'lastcall') {
  const { gracefulShutdown } = await import('@lastcall/deno')
  const shutdown = gracefulShutdown({ logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000 })
  server = shutdown.serve(options, app)
} else {
  server = Deno.serve(options, app)
  Deno.addSignalListener('SIGTERM', () => server.shutdown().then(() => Deno.exit(0)))
}
console.log(`LISTENING ${server.addr.port}`)
