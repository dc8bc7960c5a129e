// @lastcall/hono with the library's defaults on Hono 4 and @hono/node-server:
// the middleware first, then app.mjs's routes as Hono routes,
// `shutdown.attach(serve(...))`.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { gracefulShutdown } from '@lastcall/hono'
import { honoRoutes, lastcallOptions, listening, portArg } from '../app.mjs'

const shutdown = gracefulShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
const app = new Hono()
app.use(shutdown)
honoRoutes(app, stream)
const server = shutdown.attach(serve({ fetch: app.fetch, port: portArg(), hostname: '127.0.0.1' }, () => listening(server)))
