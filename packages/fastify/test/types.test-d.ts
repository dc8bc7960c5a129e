import Fastify from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import gracefulShutdownDefault, { gracefulShutdown, type LastcallRequestContext, type ShutdownController, type ShutdownReport } from '../src/index.js'

describe('types', () => {
  it('app.shutdown is the controller', async () => {
    const app = Fastify()
    await app.register(gracefulShutdown, { readinessDelayMs: 5_000 })
    expectTypeOf(app.shutdown).toEqualTypeOf<ShutdownController>()
    expectTypeOf(app.shutdown.shutdown()).toEqualTypeOf<Promise<ShutdownReport>>()
  })

  it('request.lastcall.signal is typed', () => {
    Fastify().get('/', async (request) => {
      expectTypeOf(request.lastcall).toEqualTypeOf<LastcallRequestContext>()
      expectTypeOf(request.lastcall.signal).toEqualTypeOf<AbortSignal>()
      return 'ok'
    })
  })

  it('registers on http2 and https apps, and as the default export', async () => {
    await Fastify({ http2: true }).register(gracefulShutdown, { drainTimeoutMs: 1_000 })
    await Fastify().register(gracefulShutdownDefault)
  })

  it('options are checked', async () => {
    // @ts-expect-error: a number
    await Fastify().register(gracefulShutdown, { drainTimeoutMs: 'long' })
    // @ts-expect-error: not a policy
    await Fastify().register(gracefulShutdown, { whileDraining: 'drop' })
  })
})
