// node koa.mjs, then SIGTERM (Ctrl-C) it: the report shows what happened.
import Router from '@koa/router'
import Koa from 'koa'
import { formatReport, gracefulShutdown } from '@lastcall/koa'

const app = new Koa()
const shutdown = gracefulShutdown()            // SIGTERM/SIGINT, probes at /healthz /readyz /startupz
app.use(shutdown)                              // first: before routers and body parsers

const router = new Router()
router.get('/', (ctx) => { ctx.body = 'hello\n' })
router.get('/slow', async (ctx) => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  ctx.body = ctx.lastcall.signal.aborted ? 'slow (finished during the drain)\n' : 'slow\n'
})
app.use(router.routes())

shutdown.onShutdown('db', async () => { /* await pool.end() */ }, { phase: 'stores' })
shutdown.on('closed', (report) => console.log(formatReport(report)))
const server = shutdown.attach(app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1'))
server.on('listening', () => console.log(`listening on ${server.address().port}`))
