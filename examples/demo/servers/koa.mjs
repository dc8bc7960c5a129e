// The demo service on Koa with @lastcall/koa: the routes of app.mjs, written
// the Koa way (no router, to keep the demo's dependencies to the framework).
// Run by `demo.mjs --framework koa` in a child process; also runnable alone:
// `node servers/koa.mjs`. Same stdout protocol as servers/core.mjs.
import Koa from 'koa'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { formatReport, gracefulShutdown } from '@lastcall/koa'
import { EVENT_STREAM_HEADERS, earlyFlush, eventStream, slowMs } from './sse.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

const shutdown = gracefulShutdown({ readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000 })
const app = new Koa()
app.use(shutdown) // first: the probes (/readyz...), ctx.lastcall, 503 when it must

app.use(async (ctx) => {
  const route = `${ctx.method} ${ctx.path}`
  if (route === 'GET /fast') {
    ctx.type = 'text/plain'
    ctx.body = 'fast\n'
  } else if (route === 'GET /slow') {
    const ms = slowMs(ctx.query['ms'])
    // Stop waiting if the client goes away.
    const gone = new AbortController()
    ctx.res.once('close', () => gone.abort())
    await delay(ms, undefined, { signal: gone.signal }).catch(() => {})
    ctx.type = 'text/plain'
    ctx.body = `slow ${ms} ms\n`
  } else if (route === 'GET /stream') {
    ctx.type = 'text/plain'
    ctx.body = earlyFlush(ctx.query['ms'])
  } else if (route === 'POST /orders') {
    let raw = ''
    for await (const chunk of ctx.req) raw += chunk
    ctx.status = 201
    ctx.body = { received: Buffer.byteLength(JSON.stringify(JSON.parse(raw))) }
  } else if (route === 'GET /events') {
    ctx.set(EVENT_STREAM_HEADERS)
    // Koa pipes the stream and destroys it when the response closes.
    ctx.body = eventStream(ctx.lastcall.signal)
  }
})

shutdown.on('closed', (report) => {
  console.log(formatReport(report))
  console.log(`LASTCALL_REPORT ${JSON.stringify(report)}`)
})

const server = app.listen(Number(values.port), '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`DEMO_LISTENING ${address.port}`)
})
shutdown.attach(server)
