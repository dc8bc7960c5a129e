// node express.mjs, then SIGTERM (Ctrl-C) it: the report shows what happened.
import express from 'express'
import { formatReport, gracefulShutdown } from '@lastcall/express'

const app = express()
const shutdown = gracefulShutdown()            // SIGTERM/SIGINT, probes at /healthz /readyz /startupz
app.use(shutdown)                              // first: probes answer before anything else

app.get('/', (req, res) => res.send('hello\n'))
app.get('/slow', (req, res) => {
  const timer = setTimeout(() => res.send('slow\n'), 1000)
  req.lastcall.signal.addEventListener('abort', () => {}, { once: true }) // the drain started: finish up
  res.on('close', () => clearTimeout(timer))
})

shutdown.onShutdown('db', async () => { /* await pool.end() */ }, { phase: 'stores' })
shutdown.on('closed', (report) => console.log(formatReport(report)))
const server = shutdown.attach(app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1'))
server.on('listening', () => console.log(`listening on ${server.address().port}`))
