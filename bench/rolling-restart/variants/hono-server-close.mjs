// Hono's documented shutdown (@hono/node-server's README): on SIGTERM
// `server.close()` on what `serve()` returned, exit 0 when it calls back
// (1 on an error). /readyz always answers 200.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { honoRoutes, listening, portArg } from '../app.mjs'

const app = new Hono()
honoRoutes(app, stream)
app.get('/readyz', (c) => c.text('ready\n'))
const server = serve({ fetch: app.fetch, port: portArg(), hostname: '127.0.0.1' }, () => listening(server))
process.on('SIGTERM', () => server.close((error) => process.exit(error ? 1 : 0)))
