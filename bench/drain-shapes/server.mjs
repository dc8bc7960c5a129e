// The app the measurements stop: every response is early-flushed (head and a first
// chunk at once, the end 0-100 ms later, like any streaming handler), except with
// SHAPE=plain. LASTCALL_CORE is the core module to load (a built index.js, or a
// source index.ts run through tsx); HINT=on turns keepAliveHint on (a core from before the
// option ignores it).
import { createServer } from 'node:http'

const { createShutdown } = await import(process.env.LASTCALL_CORE)
const shape = process.env.SHAPE ?? 'stream'
const shutdown = createShutdown({
  logger: false,
  readinessDelayMs: Number(process.env.DELAY_MS ?? 0),
  idleLingerMs: Number(process.env.LINGER_MS ?? 250),
  drainTimeoutMs: 10_000,
  ...(process.env.HINT === 'on' ? { keepAliveHint: true } : {}),
})
const server = createServer(shutdown.handler((_req, res) => {
  if (shape === 'plain') return void res.end('ok')
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.write('early;')
  setTimeout(() => res.end('late'), Math.floor(Math.random() * 100))
}))
shutdown.attach(server)
shutdown.on('closed', (report) => process.stdout.write(`${JSON.stringify({ event: 'report', report })}\n`))
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.address().port })}\n`))
