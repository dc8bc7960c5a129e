// node hono.mjs, then SIGTERM (Ctrl-C) it: the report shows what happened.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { formatReport, gracefulShutdown } from '@lastcall/hono'

const app = new Hono()
const shutdown = gracefulShutdown()            // SIGTERM/SIGINT, probes at /healthz /readyz /startupz
app.use(shutdown)                              // first: before other middleware

app.get('/', (c) => c.text('hello\n'))
app.get('/slow', async (c) => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  return c.text(c.var.lastcall.signal.aborted ? 'slow (finished during the drain)\n' : 'slow\n')
})

shutdown.onShutdown('db', async () => { /* await pool.end() */ }, { phase: 'stores' })
shutdown.on('closed', (report) => console.log(formatReport(report)))
const server = shutdown.attach(serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }))
server.on('listening', () => console.log(`listening on ${server.address().port}`))
