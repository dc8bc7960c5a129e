// The same service shut down the way many tutorials do it: on SIGTERM,
// `server.close()`, exit when it calls back, and a 5 s timer in case it does not.
// demo.mjs --compare runs it beside the lastcall one.
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { createApp } from './app.mjs'

const FORCE_EXIT_MS = 5000

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } })

let closing = false
// Nothing tells the handlers that a shutdown started: this signal never aborts.
const app = createApp({ stop: new AbortController().signal, isReady: () => !closing })
const server = createServer(app)

process.on('SIGTERM', () => {
  closing = true
  console.log('SIGTERM: server.close()')
  server.close(() => {
    console.log('server closed, exiting')
    process.exit(0)
  })
  setTimeout(() => {
    console.log(`server.close() still pending after ${FORCE_EXIT_MS} ms, exiting`)
    process.exit(1)
  }, FORCE_EXIT_MS).unref()
})

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`DEMO_LISTENING ${address.port}`)
})
