import type { IncomingMessage, ServerResponse } from 'node:http'
import { createShutdown, type LastcallRequestContext, type ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { RequestGate, unavailableBody, unavailableHeaders, withController } from '@lastcall/core/adapter'

/** What every request carries as `ctx.lastcall`: core's `LastcallRequestContext` under the name this package had first. */
export type LastcallContext = LastcallRequestContext

declare module 'koa' {
  interface ExtendableContext {
    /** Set by `@lastcall/koa`'s middleware on every request that passes it. */
    lastcall: LastcallRequestContext
  }
}

/** The part of Koa's context the middleware uses (no dependency on `@types/koa`). */
export interface KoaContextLike {
  req: IncomingMessage
  res: ServerResponse
  respond?: boolean
  status: number
  body: unknown
  set(fields: Record<string, string>): void
}

/** The Koa middleware signature, structurally. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown> | undefined

/** Options of `gracefulShutdown()`: exactly the core's. */
export type KoaShutdownOptions = ShutdownOptions

/** The middleware, which is also the shutdown controller (`attach`, `onShutdown`, `addCheck`, `shutdown()`...). */
export type KoaShutdown = KoaMiddleware & ShutdownController

/**
 * Graceful shutdown for Koa 2 and 3. `app.use()` it before anything else
 * (routers included): it answers the probes (`/healthz`, `/readyz`...) before
 * the app's own middleware, gives every request `ctx.lastcall.signal`, and
 * answers 503 to what can no longer be served. Then
 * `shutdown.attach(app.listen(port))`, or attach the server you gave `app.callback()`.
 */
export function gracefulShutdown(options?: KoaShutdownOptions): KoaShutdown {
  const controller = createShutdown(options)
  // Koa creates every context from its app's `app.context`: `ctx.lastcall` is a getter there.
  const gate = new RequestGate(controller, { requestOf: (ctx: KoaContextLike) => ctx.req })
  // Not `async`: the serve path hands Koa `next()`'s own promise instead of
  // wrapping it in one more promise and `await` per request.
  const lastcall: KoaMiddleware = (ctx, next) => {
    const admission = gate.admit(ctx.req, ctx.res, ctx)
    if (admission === 'serve') return next()
    if (admission === 'answered') {
      // The probe writes the response itself; Koa must not.
      ctx.respond = false
      return undefined
    }
    controller.countRejected()
    // Core's 503 through Koa's response (no error thrown, so nothing is logged
    // as a server fault); no Connection header on HTTP/2 (`http2.createServer(app.callback())`).
    ctx.status = 503
    ctx.set(unavailableHeaders(ctx.req.httpVersionMajor === 2))
    ctx.body = unavailableBody('shutting-down')
    return undefined
  }
  return withController(lastcall, controller)
}
