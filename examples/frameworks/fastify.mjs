// node fastify.mjs, then SIGTERM (Ctrl-C) it: the report shows what happened.
import Fastify from 'fastify'
import { formatReport, gracefulShutdown } from '@lastcall/fastify'

const app = Fastify()
await app.register(gracefulShutdown)           // app.shutdown is the controller; app.server is attached for you

app.get('/', async () => 'hello\n')
app.get('/slow', async (request) => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  return request.lastcall.signal.aborted ? 'slow (finished during the drain)\n' : 'slow\n'
})

app.shutdown.onShutdown('db', async () => { /* await pool.end() */ }, { phase: 'stores' })
app.shutdown.on('closed', (report) => console.log(formatReport(report)))
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`listening on ${app.server.address().port}`)
