// Fastify's own close() driven by close-with-grace, the usual recipe: on
// SIGTERM app.close() (Fastify answers 503 from then on), exit when it
// resolves, or with code 1 after 10 s. /readyz is an ordinary route.
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import { fastifyRoutes, listening, portArg } from '../app.mjs'

const app = Fastify()
fastifyRoutes(app)
app.get('/readyz', async () => 'ready\n')
closeWithGrace({ delay: 10000 }, async () => app.close())
await app.listen({ port: portArg(), host: '127.0.0.1' })
listening(app.server)
