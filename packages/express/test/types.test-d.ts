import express from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { gracefulShutdown, type LastcallRequestContext, type ShutdownController, type ShutdownReport } from '../src/index.js'

describe('types', () => {
  it('the middleware fits app.use and is the controller', () => {
    const app = express()
    const shutdown = gracefulShutdown({ readinessDelayMs: 5_000 })
    app.use(shutdown)
    app.use('/api', shutdown)
    expectTypeOf(shutdown).toMatchTypeOf<ShutdownController>()
    expectTypeOf(shutdown.shutdown()).toEqualTypeOf<Promise<ShutdownReport>>()
    expectTypeOf(shutdown.attach(app.listen(0))).toMatchTypeOf<import('node:http').Server>()
  })

  it('chained emitter calls stay on the middleware', () => {
    const shutdown = gracefulShutdown()
    expectTypeOf(shutdown.on('state', () => {}).once('closed', () => {})).toMatchTypeOf<ShutdownController>()
  })

  it('req.lastcall.signal is typed on Express requests', () => {
    express().get('/', (req, res) => {
      expectTypeOf(req.lastcall).toEqualTypeOf<LastcallRequestContext>()
      expectTypeOf(req.lastcall.signal).toEqualTypeOf<AbortSignal>()
      res.end()
    })
  })

  it('options are checked', () => {
    // @ts-expect-error: not an option
    gracefulShutdown({ readinessDelay: 5 })
    // @ts-expect-error: a number
    gracefulShutdown({ drainTimeoutMs: '10s' })
  })
})
