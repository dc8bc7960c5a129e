import { once } from 'node:events'
import { createServer } from 'node:http'
import { inspect } from 'node:util'
import express5 from 'express'
import express4 from 'express4'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { LastcallOptionError, ShutdownController, gracefulShutdown } from '../src/index.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('gracefulShutdown', () => {
  it('is the middleware and the controller at once', async () => {
    const shutdown = gracefulShutdown(quiet)
    expect(typeof shutdown).toBe('function')
    expect(shutdown).toBeInstanceOf(ShutdownController)
    // Express tells error handlers (4 arguments) from middleware by length.
    expect(shutdown.length).toBe(3)
    expect(shutdown.state).toBe('starting')
    expect(shutdown.onShutdown).toBe(shutdown.onShutdown)
    const states: string[] = []
    shutdown.on('state', (state) => states.push(state))
    const server = shutdown.attach(createServer(express5().use(shutdown)))
    server.listen(0, '127.0.0.1')
    await once(shutdown, 'state')
    expect(shutdown.isReady).toBe(true)
    const report = await shutdown.shutdown('test')
    expect(states).toEqual(['serving', 'leaving', 'draining', 'closing', 'closed'])
    expect(shutdown.report).toBe(report)
  })

  it('is a plain function: emitter calls chain on it and it inspects as the middleware of a controller', () => {
    const shutdown = gracefulShutdown(quiet)
    expect(shutdown.on('state', () => {}).once('closed', () => {})).toBe(shutdown)
    expect(Object.getPrototypeOf(shutdown)).toBe(Function.prototype)
    expect(inspect(shutdown)).toBe("[lastcall of ShutdownController] { state: 'starting', inFlight: 0 }")
    shutdown.dispose()
  })

  it('rejects bad options at creation with a LastcallOptionError', () => {
    expect(() => gracefulShutdown({ drainTimeoutMs: -1 })).toThrow(LastcallOptionError)
    expect(() => gracefulShutdown({ whileDraining: 'maybe' as 'serve' })).toThrow(/whileDraining/)
  })

  // Typed with Express 5's types: both majors build apps of the same shape for what this test uses.
  for (const [version, express] of [[5, express5], [4, express4 as unknown as typeof express5]] as const) {
    it(`works under a sub-app of Express ${version}: probes answer under the mount path, routes get req.lastcall`, async () => {
      const shutdown = gracefulShutdown(quiet)
      const api = express()
      api.use(shutdown)
      api.get('/signal', (req, res) => void res.send(String(req.lastcall.signal instanceof AbortSignal)))
      const app = express()
      app.use('/api', api)
      app.get('/readyz', (_req, res) => void res.status(418).send('app'))
      const server = shutdown.attach(createServer(app))
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      await new Promise<void>((resolve) => (shutdown.isReady ? resolve() : shutdown.once('state', () => resolve())))
      try {
        await request(server).get('/api/readyz').expect(200, 'ok')
        await request(server).get('/api/signal').expect(200, 'true')
        // Outside the sub-app the app's own route answers.
        await request(server).get('/readyz').expect(418)
      } finally {
        server.closeAllConnections()
        await shutdown.shutdown()
      }
    })
  }

  it('leaves other middleware alone: errors from routes still reach the app error handler', async () => {
    const shutdown = gracefulShutdown(quiet)
    const app = express5()
    app.use(shutdown)
    app.get('/boom', () => {
      throw new Error('boom')
    })
    app.use((error: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => void res.status(500).send(`handled ${error.message}`))
    const server = shutdown.attach(createServer(app))
    try {
      await request(server).get('/boom').expect(500, 'handled boom')
    } finally {
      server.close()
      shutdown.dispose()
    }
  })
})
