// The app whose exit the margin measurement times: one request held open (its
// handler never answers) and one cleanup hook that never settles, so lastcall's
// `timeoutMs` is what ends the shutdown. Every line carries process.hrtime
// (CLOCK_MONOTONIC, the same clock in every process on the machine), so the
// parent can place the child's moments on its own timeline.
//
// LASTCALL_CORE: the core module to load (a built index.js). TIMEOUT_MS: timeoutMs.
// HEAP_MB: this many megabytes of small live objects, as a real app holds, for the
// exit to tear down.
import { createServer } from 'node:http'
import { writeSync } from 'node:fs'

const { createShutdown } = await import(process.env.LASTCALL_CORE)
const line = (event, extra = {}) => writeSync(1, `${JSON.stringify({ event, t: String(process.hrtime.bigint()), ...extra })}\n`)
const log = (level) => (_fields, message) => {
  if (message.startsWith('shutdown started')) line('started')
  else if (message.startsWith('shutdown did not finish within timeoutMs')) line('timeout')
  else if (message.startsWith('shutdown finished')) line('reported')
  void level
}
const heap = []
for (let mb = 0; mb < Number(process.env.HEAP_MB ?? 0); mb++) heap.push(Array.from({ length: 16_384 }, (_, i) => ({ i, s: `entry ${i}` })))
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 500)
const shutdown = createShutdown({
  timeoutMs,
  readinessDelayMs: 0,
  drainTimeoutMs: Math.floor(timeoutMs / 4),
  platform: false,
  logger: { info: log('info'), warn: log('warn'), error: log('error') },
})
shutdown.onShutdown('never-settles', () => new Promise(() => {}), { timeoutMs: 60_000 })
const server = createServer(shutdown.handler(() => line('request')) /* never answers */)
shutdown.attach(server)
process.on('exit', () => line('exit'))
server.listen(0, '127.0.0.1', () => line('listening', { port: server.address().port }))
