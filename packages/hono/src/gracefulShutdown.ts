import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { createShutdown, type LastcallRequestContext, type ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { RequestGate, unavailableResponse, withController } from '@lastcall/core/adapter'
import type { Context, MiddlewareHandler, Next } from 'hono'

declare module 'hono' {
  // Hono's own way to type a context variable in every app: `c.get('lastcall')`, `c.var.lastcall`.
  interface ContextVariableMap {
    /** Set by `@lastcall/hono`'s middleware on every request that passes it. */
    lastcall: LastcallRequestContext
  }
}

/** What `@hono/node-server` hands `app.fetch` as its env: the Node request and response. */
interface NodeBindings {
  incoming?: IncomingMessage | Http2ServerRequest
  outgoing?: ServerResponse | Http2ServerResponse
}

/** Options of `gracefulShutdown()`: exactly the core's. */
export type HonoShutdownOptions = ShutdownOptions

/** The middleware, which is also the shutdown controller (`attach`, `onShutdown`, `addCheck`, `shutdown()`...). */
export type HonoShutdown = MiddlewareHandler & ShutdownController

/**
 * Graceful shutdown for Hono 4 served by `@hono/node-server`. `app.use()` it
 * before anything else: it answers the probes (`/healthz`, `/readyz`...)
 * before the app's own middleware, gives every request `c.var.lastcall.signal`
 * (`c.get('lastcall')`), and answers 503 to what can no longer be served. Then
 * `shutdown.attach(serve({ fetch: app.fetch, port }))`.
 */
export function gracefulShutdown(options?: HonoShutdownOptions): HonoShutdown {
  const controller = createShutdown(options)
  const gate = new RequestGate(controller)
  // Without `@hono/node-server` (`app.request()` in a unit test) there is no
  // Node request to track: the request only follows the drain signal.
  const detached: LastcallRequestContext = Object.freeze({ signal: controller.signal })
  // With a per-request deadline, lastcall may have answered 503 on the Node
  // response while the handler still ran: the handler's late Response must not
  // be written over it (node-server would log ERR_HTTP_HEADERS_SENT and destroy the socket).
  const deadlines = controller.options.requestTimeoutMs !== undefined
  // Not `async`: the serve path hands Hono `next()`'s own promise.
  const lastcall = (c: Context, next: Next): Promise<Response | void> | Response | undefined => {
    const { incoming, outgoing } = (c.env ?? {}) as NodeBindings
    if (incoming === undefined || outgoing === undefined) {
      c.set('lastcall', detached)
      return next()
    }
    const admission = gate.admit(incoming, outgoing)
    if (admission === 'serve') {
      c.set('lastcall', gate.contextFor(incoming))
      if (!deadlines) return next()
      return next().then(() => {
        if (!outgoing.headersSent) return
        // Replaced, not merged with the handler's headers.
        c.res = undefined
        c.res = RESPONSE_ALREADY_SENT
      })
    }
    // A probe: its response is already being written on the Node response.
    if (admission === 'answered') return RESPONSE_ALREADY_SENT
    controller.countRejected()
    // Core's 503 (the one every adapter sends), no Connection header on HTTP/2.
    return unavailableResponse('shutting-down', { http2: incoming.httpVersionMajor === 2 })
  }
  return withController(lastcall as MiddlewareHandler, controller)
}
