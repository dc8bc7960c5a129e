// The demo service on Express with @lastcall/express: the routes of app.mjs,
// written the Express way. Run by `demo.mjs --framework express` (the
// default) in a child process; also runnable alone: `node servers/express.mjs`.
// Same stdout protocol as servers/core.mjs.
import express from 'express'
import { parseArgs } from 'node:util'
import { formatReport, gracefulShutdown } from '@lastcall/express'
import { EVENT_STREAM_HEADERS, earlyFlush, eventStream, slowMs } from './sse.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

const shutdown = gracefulShutdown({ readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000 })
const app = express()
app.use(shutdown) // first: the probes (/readyz...), req.lastcall, 503 when it must

app.get('/fast', (req, res) => {
  res.type('text/plain').send('fast\n')
})
app.get('/slow', (req, res) => {
  const ms = slowMs(req.query['ms'])
  const timer = setTimeout(() => res.type('text/plain').send(`slow ${ms} ms\n`), ms)
  res.on('close', () => clearTimeout(timer))
})
app.get('/stream', (req, res) => {
  const body = earlyFlush(req.query['ms'])
  res.type('text/plain')
  body.pipe(res)
  res.on('close', () => body.destroy())
})
app.post('/orders', express.json(), (req, res) => {
  res.status(201).json({ received: Buffer.byteLength(JSON.stringify(req.body)) })
})
app.get('/events', (req, res) => {
  const stream = eventStream(req.lastcall.signal)
  res.writeHead(200, EVENT_STREAM_HEADERS)
  stream.pipe(res)
  res.on('close', () => stream.destroy())
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
