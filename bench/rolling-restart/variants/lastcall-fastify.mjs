// @lastcall/fastify with the library's defaults: registered first, then
// app.mjs's routes as Fastify routes; app.server is attached by the plugin.
import Fastify from 'fastify'
import { gracefulShutdown } from '@lastcall/fastify'
import { fastifyRoutes, lastcallOptions, listening, portArg } from '../app.mjs'

const app = Fastify()
await app.register(gracefulShutdown, lastcallOptions())
app.shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
fastifyRoutes(app)
await app.listen({ port: portArg(), host: '127.0.0.1' })
listening(app.server)
