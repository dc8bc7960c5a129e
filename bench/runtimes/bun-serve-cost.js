/* global Bun, ReadableStream */
// What @lastcall/bun's fetch() adds per request, in CPU time, without sockets
// (a loaded machine makes HTTP throughput useless here): N requests through the
// bare handler and through shutdown.fetch(handler), each response body read to
// its end (as Bun does when it sends it), alternating rounds, medians.
//   bun bench/runtimes/bun-serve-cost.js [N] [text|empty|stream]
// text: a 2-byte string body (the default); empty: 204 without a body;
// stream: a 2-byte body from a ReadableStream.
import { gracefulShutdown } from '@lastcall/bun'

const n = Number(process.argv[2] ?? 50_000)
const kind = process.argv[3] ?? 'text'
const bytes = new TextEncoder().encode('ok')
const bodies = {
  text: () => new Response('ok', { headers: { 'Content-Type': 'text/plain' } }),
  empty: () => new Response(null, { status: 204 }),
  stream: () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(bytes)
          c.close()
        },
      }),
      { headers: { 'Content-Type': 'text/plain' } },
    ),
}
const app = bodies[kind]
if (app === undefined) throw new Error(`body kind: text, empty or stream (got ${kind})`)
const shutdown = gracefulShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 0 })
// Bun's Server as far as the driver reads it; pendingRequests as Bun.serve reports it between requests.
const server = { stop() {}, upgrade: () => false, requestIP: () => ({ address: '127.0.0.1' }), pendingRequests: 0 }
const wrapped = shutdown.fetch(app)
shutdown.attach(server)

async function round(handler) {
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const response = await handler(new Request('http://127.0.0.1:3000/'), server)
    await response.arrayBuffer()
  }
  const used = process.cpuUsage(start)
  return ((used.user + used.system) * 1000) / n // ns per request
}

const bare = []
const lastcall = []
for (let r = 0; r < 7; r++) {
  bare.push(await round(app))
  lastcall.push(await round(wrapped))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, body: kind, n, bareNsPerRequest: Math.round(median(bare)), lastcallNsPerRequest: Math.round(median(lastcall)), addedNs: Math.round(median(lastcall) - median(bare)), bare: bare.map(Math.round), lastcall: lastcall.map(Math.round) }))
