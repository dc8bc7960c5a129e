// The demo service on Hono with @lastcall/hono, served by @hono/node-server:
// the routes of app.mjs, written the Hono way (streamSSE for /events). Run by
// `demo.mjs --framework hono` in a child process; also runnable alone:
// `node servers/hono.mjs`. Same stdout protocol as servers/core.mjs.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { formatReport, gracefulShutdown } from '@lastcall/hono'
import { earlyFlush, slowMs } from './sse.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

const shutdown = gracefulShutdown({ readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000 })
const app = new Hono()
app.use(shutdown) // first: the probes (/readyz...), c.var.lastcall, 503 when it must

app.get('/fast', (c) => c.text('fast\n'))
app.get('/slow', async (c) => {
  const ms = slowMs(c.req.query('ms'))
  // Stop waiting if the client goes away (node-server aborts the Request's signal then).
  await delay(ms, undefined, { signal: c.req.raw.signal }).catch(() => {})
  return c.text(`slow ${ms} ms\n`)
})
// Early-flushed: the head and `early;` at once, `late` after `ms`.
app.get('/stream', (c) => c.body(/** @type {ReadableStream} */ (Readable.toWeb(earlyFlush(c.req.query('ms')))), 200, { 'Content-Type': 'text/plain' }))
app.post('/orders', async (c) => c.json({ received: Buffer.byteLength(JSON.stringify(await c.req.json())) }, 201))
// A tick every 200 ms until the drain signal aborts, then the final event and the end of the stream.
app.get('/events', (c) => {
  c.header('Cache-Control', 'no-store')
  return streamSSE(c, async (sse) => {
    const { signal } = c.var.lastcall
    for (let n = 1; !signal.aborted && !sse.aborted; n++) {
      await delay(200, undefined, { signal }).catch(() => {})
      if (!signal.aborted) await sse.writeSSE({ event: 'tick', data: String(n) })
    }
    // The client reconnects after `retry` ms, and by then to another instance.
    await sse.writeSSE({ event: 'shutdown', data: 'this instance is shutting down; reconnect', retry: 1000 })
  })
})

shutdown.on('closed', (report) => {
  console.log(formatReport(report))
  console.log(`LASTCALL_REPORT ${JSON.stringify(report)}`)
})

const server = shutdown.attach(serve({ fetch: app.fetch, port: Number(values.port), hostname: '127.0.0.1' }, (info) => console.log(`DEMO_LISTENING ${info.port}`)))
void server
