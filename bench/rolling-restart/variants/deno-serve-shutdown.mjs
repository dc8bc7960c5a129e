/* global Deno */
// Deno.serve's own server.shutdown() on SIGTERM, exit when it resolves: the
// usual hand-written handler. Deno only: run.mjs --runtime deno.
import { fetchApp, portArg } from '../app.mjs'

const server = Deno.serve({ port: portArg(), hostname: '127.0.0.1', onListen() {} }, fetchApp())
Deno.addSignalListener('SIGTERM', () => server.shutdown().then(() => Deno.exit(0)))
console.log(`LISTENING ${server.addr.port}`)
