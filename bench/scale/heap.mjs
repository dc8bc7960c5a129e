// Heap per connection: a node:http server, bare or with lastcall attached,
// run with --expose-gc. Reads commands on stdin, one per line:
//   "measure" → full GCs, then prints {"heapUsed", "rss", "connections"}
// Prints {"port", "nofile", "heapUsed"} once listening (the baseline, no connections).
import { writeSync } from 'node:fs'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { createShutdown } from '@lastcall/core'
import { openFilesLimit } from './limits.mjs'

const variant = process.argv[2]
if ((variant !== 'bare' && variant !== 'lastcall') || typeof globalThis.gc !== 'function') {
  console.error('usage: node --expose-gc heap.mjs <bare|lastcall>')
  process.exit(2)
}
const line = (value) => writeSync(1, `${JSON.stringify(value)}\n`)

const hello = (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' })
  res.end('ok')
}
let server
if (variant === 'bare') {
  server = http.createServer(hello)
} else {
  const shutdown = createShutdown({ logger: false, signals: [], exit: false })
  server = shutdown.attach(http.createServer(shutdown.handler(hello)))
}
// Idle clients must stay connected while the heap is measured.
server.keepAliveTimeout = 300_000
server.headersTimeout = 301_000

async function settledHeap() {
  // Several full collections, with turns of the event loop between them, so
  // that weak references and finalizers from the last requests are gone.
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, rss: m.rss }
}

server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, async () => {
  const base = await settledHeap()
  line({ port: server.address().port, nofile: openFilesLimit(), ...base })
})

for await (const command of createInterface({ input: process.stdin })) {
  if (command !== 'measure') continue
  const m = await settledHeap()
  const connections = await new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
  line({ ...m, connections })
}
