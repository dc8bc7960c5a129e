// Fastify's own close() with nothing around it: on SIGTERM app.close(), exit
// when it resolves (no time limit; the harness kills it after 20 s).
import Fastify from 'fastify'
import { fastifyRoutes, listening, portArg } from '../app.mjs'

const app = Fastify()
fastifyRoutes(app)
app.get('/readyz', async () => 'ready\n')
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
await app.listen({ port: portArg(), host: '127.0.0.1' })
listening(app.server)
