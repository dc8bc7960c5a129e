// The demo service on Fastify with @lastcall/fastify: the routes of app.mjs,
// written the Fastify way. Run by `demo.mjs --framework fastify` in a child
// process; also runnable alone: `node servers/fastify.mjs`. Same stdout
// protocol as servers/core.mjs. Fastify's defaults (keepAliveTimeout 72 s
// included): lastcall drains before it calls app.close().
import Fastify from 'fastify'
import { parseArgs } from 'node:util'
import { formatReport, gracefulShutdown } from '@lastcall/fastify'
import { EVENT_STREAM_HEADERS, earlyFlush, eventStream, slowMs } from './sse.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

const app = Fastify()
// First: the probes (/readyz...), request.lastcall, 503 when it must; app.server is attached.
await app.register(gracefulShutdown, { readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000, logger: console })

app.get('/fast', async (request, reply) => reply.type('text/plain').send('fast\n'))
app.get('/slow', (request, reply) => {
  const ms = slowMs(/** @type {Record<string, string | undefined>} */ (request.query)['ms'])
  const timer = setTimeout(() => void reply.type('text/plain').send(`slow ${ms} ms\n`), ms)
  reply.raw.on('close', () => clearTimeout(timer))
})
app.get('/stream', (request, reply) => reply.type('text/plain').send(earlyFlush(/** @type {Record<string, string | undefined>} */ (request.query)['ms'])))
app.post('/orders', async (request, reply) => reply.code(201).send({ received: Buffer.byteLength(JSON.stringify(request.body)) }))
// Fastify pipes the stream and destroys it when the response closes.
app.get('/events', (request, reply) => reply.headers(EVENT_STREAM_HEADERS).send(eventStream(request.lastcall.signal)))

app.shutdown.on('closed', (report) => {
  console.log(formatReport(report))
  console.log(`LASTCALL_REPORT ${JSON.stringify(report)}`)
})

await app.listen({ port: Number(values.port), host: '127.0.0.1' })
console.log(`DEMO_LISTENING ${/** @type {import('node:net').AddressInfo} */ (app.server.address()).port}`)
