import { IncomingMessage, type ServerResponse } from 'node:http'
import { asController, createShutdown, type ShutdownController, type ShutdownOptions } from '@lastcall/core'

/** What every request carries as `req.lastcall`. */
export interface LastcallRequestContext {
  /**
   * Aborts when the drain starts (reason: `DrainingError`), or when the
   * request passes `requestTimeoutMs` (reason: `RequestTimeoutError`).
   * Streaming handlers follow it to end their response in time.
   */
  readonly signal: AbortSignal
}

declare global {
  // Express's own way to extend its Request type (express 4 and 5 alike).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `@lastcall/express`'s middleware on every request that passes it. */
      lastcall: LastcallRequestContext
    }
  }
}

/** The Express middleware signature, in Node's own types (no dependency on `@types/express`). */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/** Options of `gracefulShutdown()`: exactly the core's. */
export type ExpressShutdownOptions = ShutdownOptions

/** The middleware, which is also the shutdown controller (`attach`, `onShutdown`, `addCheck`, `shutdown()`...). */
export type ExpressShutdown = ExpressMiddleware & ShutdownController

/**
 * Graceful shutdown for Express 4 and 5. `app.use()` it before anything
 * else: it answers the probes (`/healthz`, `/readyz`...) before the app's own
 * middleware, gives every request `req.lastcall.signal`, and answers 503 to
 * what can no longer be served. Then `shutdown.attach(app.listen(port))`.
 */
export function gracefulShutdown(options?: ExpressShutdownOptions): ExpressShutdown {
  const controller = createShutdown(options)
  let extended: object | undefined

  const middleware: ExpressMiddleware = (req, res, next) => {
    controller.adoptServerOf(req)
    if (controller.handleProbe(req, res)) return
    const proto = Object.getPrototypeOf(req) as object
    if (proto !== extended) {
      extended = proto
      exposeSignal(req, proto, controller)
    }
    if (controller.shouldReject()) {
      // 503, Retry-After, Connection: close and a short text body, counted.
      controller.reject(res)
      return
    }
    next()
  }

  return asController(middleware, controller)
}

/**
 * Gives requests `req.lastcall`. Express sets every request's prototype to
 * its app's `app.request` (the object Express offers for extending requests),
 * so a getter there serves every request of that app without adding a
 * property to each one on the hot path. Measured with
 * bench/overhead/instructions.mjs (callgrind, steady state): the middleware
 * cost 7.1% more instructions per Express request when it set the property,
 * 3.6% with the getter (3 runs each, ±2% between runs); most of what remains
 * is Express's own cost of one more middleware layer. Outside Express (Node's
 * own prototype, which is never touched) the property is set on the request.
 */
function exposeSignal(req: IncomingMessage, proto: object, controller: ShutdownController): void {
  if (proto === IncomingMessage.prototype || proto === null) {
    ;(req as IncomingMessage & { lastcall: LastcallRequestContext }).lastcall = { signal: controller.signalFor(req) }
    return
  }
  if (Object.hasOwn(proto, 'lastcall')) return
  Object.defineProperty(proto, 'lastcall', {
    configurable: true,
    get(this: IncomingMessage): LastcallRequestContext {
      return { signal: controller.signalFor(this) }
    },
    set(this: IncomingMessage, value: unknown) {
      Object.defineProperty(this, 'lastcall', { value, writable: true, configurable: true, enumerable: true })
    },
  })
}
