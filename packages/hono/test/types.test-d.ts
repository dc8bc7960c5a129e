import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { describe, expectTypeOf, it } from 'vitest'
import { gracefulShutdown, type HonoShutdown, type LastcallRequestContext, type ShutdownController } from '../src/index.js'

describe('types', () => {
  it('the middleware fits app.use and is the controller; serve() returns what attach() takes', () => {
    const app = new Hono()
    const shutdown = gracefulShutdown({ readinessDelayMs: 5_000 })
    app.use(shutdown)
    app.use('/api/*', shutdown)
    expectTypeOf(shutdown).toMatchTypeOf<ShutdownController>()
    expectTypeOf(shutdown).toEqualTypeOf<HonoShutdown>()
    const server = shutdown.attach(serve({ fetch: app.fetch, port: 0 }))
    expectTypeOf(server).toEqualTypeOf<ReturnType<typeof serve>>()
  })

  it('c.get("lastcall") and c.var.lastcall are typed in every app, typed Env or not', () => {
    new Hono().get('/', (c) => {
      expectTypeOf(c.get('lastcall')).toEqualTypeOf<LastcallRequestContext>()
      expectTypeOf(c.var.lastcall.signal).toEqualTypeOf<AbortSignal>()
      return c.text('ok')
    })
    new Hono<{ Variables: { user: string } }>().get('/', (c) => {
      expectTypeOf(c.var.lastcall.signal).toEqualTypeOf<AbortSignal>()
      expectTypeOf(c.var.user).toEqualTypeOf<string>()
      return c.text('ok')
    })
    createMiddleware(async (c, next) => {
      expectTypeOf(c.var.lastcall).toEqualTypeOf<LastcallRequestContext>()
      await next()
    })
  })

  it('options are checked', () => {
    // @ts-expect-error: a number
    gracefulShutdown({ idleLingerMs: 'soon' })
  })
})
