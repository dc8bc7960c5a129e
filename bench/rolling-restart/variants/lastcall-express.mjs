// @lastcall/express with the library's defaults: the middleware first, then
// app.mjs's routes as Express routes, `shutdown.attach(app.listen(port))`.
import express from 'express'
import { gracefulShutdown } from '@lastcall/express'
import { lastcallOptions, listening, portArg, slowMs, streamEarly, streamMs } from '../app.mjs'

const shutdown = gracefulShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
const app = express()
app.use(shutdown)
app.get('/fast', (_req, res) => res.type('text/plain').send('fast\n'))
app.get('/slow', (req, res) => {
  const ms = slowMs(req.url)
  const timer = setTimeout(() => res.type('text/plain').send(`slow ${ms}\n`), ms)
  res.on('close', () => clearTimeout(timer))
})
app.get('/stream', (req, res) => streamEarly(res, streamMs(req.url)))
app.post('/orders', express.raw({ type: '*/*' }), (req, res) => res.status(201).type('application/json').send(`{"received":${req.body.length}}\n`))
const server = app.listen(portArg(), '127.0.0.1', () => listening(server))
shutdown.attach(server)
