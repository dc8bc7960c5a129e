import Router from '@koa/router'
import Koa from 'koa'
import { describe, expectTypeOf, it } from 'vitest'
import { gracefulShutdown, type LastcallContext, type LastcallRequestContext, type ShutdownController } from '../src/index.js'

describe('types', () => {
  it('the middleware fits app.use and is the controller', () => {
    const app = new Koa()
    const shutdown = gracefulShutdown({ readinessDelayMs: 5_000 })
    app.use(shutdown)
    expectTypeOf(shutdown).toMatchTypeOf<ShutdownController>()
    expectTypeOf(shutdown.attach(app.listen(0))).toMatchTypeOf<import('node:http').Server>()
  })

  it('ctx.lastcall.signal is typed in middleware and router handlers', () => {
    new Koa().use((ctx) => {
      expectTypeOf(ctx.lastcall).toEqualTypeOf<LastcallRequestContext>()
      expectTypeOf<LastcallContext>().toEqualTypeOf<LastcallRequestContext>()
      expectTypeOf(ctx.lastcall.signal).toEqualTypeOf<AbortSignal>()
    })
    new Router().get('/', (ctx) => {
      expectTypeOf(ctx.lastcall.signal).toEqualTypeOf<AbortSignal>()
    })
  })

  it('options are checked', () => {
    // @ts-expect-error: a number
    gracefulShutdown({ idleLingerMs: 'soon' })
  })
})
