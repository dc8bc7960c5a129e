import type { IncomingMessage, ServerResponse } from 'node:http'
import { createShutdown, type LastcallRequestContext, type ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { RequestGate, withController } from '@lastcall/core/adapter'

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
  // Express gives every request its app's `app.request` as prototype: `req.lastcall` is a getter there.
  const gate = new RequestGate(controller)
  const lastcall: ExpressMiddleware = (req, res, next) => {
    const admission = gate.admit(req, res, req)
    if (admission === 'serve') next()
    // 503, Retry-After, Connection: close and a short text body, counted.
    else if (admission === 'reject') controller.reject(res)
  }
  return withController(lastcall, controller)
}
