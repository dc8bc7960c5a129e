import type { IncomingMessage, ServerResponse } from 'node:http'
import { asController, createShutdown, RETRY_AFTER_SECONDS, type ShutdownController, type ShutdownOptions } from '@lastcall/core'

/** What every request carries as `ctx.lastcall`. */
export interface LastcallContext {
  /**
   * Aborts when the drain starts (reason: `DrainingError`), or when the
   * request passes `requestTimeoutMs` (reason: `RequestTimeoutError`).
   * Streaming handlers follow it to end their response in time.
   */
  readonly signal: AbortSignal
}

declare module 'koa' {
  interface ExtendableContext {
    /** Set by `@lastcall/koa`'s middleware on every request that passes it. */
    lastcall: LastcallContext
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

  let extended: object | undefined

  // Not `async`: the serve path hands Koa `next()`'s own promise instead of
  // wrapping it in one more promise and `await` per request.
  const middleware: KoaMiddleware = (ctx, next) => {
    controller.adoptServerOf(ctx.req)
    if (controller.handleProbe(ctx.req, ctx.res)) {
      // The probe writes the response itself; Koa must not.
      ctx.respond = false
      return undefined
    }
    const proto = Object.getPrototypeOf(ctx) as object
    if (proto !== extended) {
      extended = proto
      exposeSignal(ctx, proto, controller)
    }
    if (controller.shouldReject()) {
      controller.countRejected()
      // What `ctx.throw(503)` renders, without the error being logged as a server fault.
      ctx.status = 503
      // Connection-specific headers are illegal in HTTP/2 (`http2.createServer(app.callback())`); GOAWAY does that job there.
      ctx.set(ctx.req.httpVersionMajor === 2 ? { 'Retry-After': RETRY_AFTER } : { 'Retry-After': RETRY_AFTER, Connection: 'close' })
      ctx.body = 'Service Unavailable'
      return undefined
    }
    return next()
  }

  return asController(middleware, controller)
}

/**
 * Gives contexts `ctx.lastcall`. Koa creates every context from its app's
 * `app.context` (the object Koa offers for extending contexts), so a getter
 * there serves every request without adding a property to each context on
 * the hot path. A context without such a prototype gets the property itself.
 */
function exposeSignal(ctx: KoaContextLike, proto: object | null, controller: ShutdownController): void {
  if (proto === null || proto === Object.prototype) {
    ;(ctx as KoaContextLike & { lastcall: LastcallContext }).lastcall = { signal: controller.signalFor(ctx.req) }
    return
  }
  if (Object.hasOwn(proto, 'lastcall')) return
  Object.defineProperty(proto, 'lastcall', {
    configurable: true,
    get(this: KoaContextLike): LastcallContext {
      return { signal: controller.signalFor(this.req) }
    },
    set(this: KoaContextLike, value: unknown) {
      Object.defineProperty(this, 'lastcall', { value, writable: true, configurable: true, enumerable: true })
    },
  })
}

const RETRY_AFTER = String(RETRY_AFTER_SECONDS)
