// @godaddy/terminus with its defaults and a readiness check on /readyz.
import { createTerminus } from '@godaddy/terminus'
import { createApp, createServer, listen } from '../app.mjs'

const server = createServer(createApp())
createTerminus(server, { signals: ['SIGTERM'], healthChecks: { '/readyz': async () => 'ok' } })
listen(server)
