import { IncomingMessage } from 'node:http'
import { Http2ServerRequest } from 'node:http2'
import type { ProbeRequest, ProbeResponse } from '../readiness/probes.js'
import type { ShutdownController } from '../controller.js'

/**
 * What every request carries as `lastcall`: `req.lastcall` (Express),
 * `ctx.lastcall` (Koa), `request.lastcall` (Fastify).
 */
export interface LastcallRequestContext {
  /**
   * Aborts when the drain starts (reason: `DrainingError`), or when the
   * request passes `requestTimeoutMs` (reason: `RequestTimeoutError`).
   * Streaming handlers follow it to end their response in time.
   */
  readonly signal: AbortSignal
}

/**
 * What an adapter does with a request: hand it to the application (`serve`),
 * nothing (`answered`: it was a probe, and its response is already being
 * written), or answer 503 in the framework's shape (`reject`; the request is
 * not counted yet: `controller.reject(res)` counts it, or `countRejected()`).
 */
export type Admission = 'serve' | 'answered' | 'reject'

export interface RequestGateOptions {
  /**
   * The Node request of the object that carries `lastcall` (the one given to
   * `admit` as `carrier`): Koa's `ctx` → `ctx.req`. Default: the carrier is the request.
   */
  requestOf?: (carrier: any) => ProbeRequest
}

/**
 * The per-request part every adapter shares: an adapter is its framework's
 * request function (middleware, hook) calling `admit()` and translating the
 * answer into its framework's terms. In that order:
 *
 * 1. the first request attaches its server if the user forgot `attach()` (one warning);
 * 2. probes are answered (`/healthz`, `/readyz`...), before the application's own middleware;
 * 3. the request's framework object gets `lastcall` (`LastcallRequestContext`);
 * 4. whether the request can still be served.
 *
 * Kept to a few field reads per request: the cheapest requests a framework
 * serves cost ~70,000 instructions, and the whole of lastcall's share is
 * meant to stay under 1% of that (`docs/bench-overhead.md`).
 */
export class RequestGate {
  readonly controller: ShutdownController
  readonly #requestOf: ((carrier: any) => ProbeRequest) | undefined
  /** A context shared by every request: without `requestTimeoutMs` they all follow the drain signal. */
  readonly #shared: LastcallRequestContext | undefined
  #adopting = true
  /** The framework prototype that has the `lastcall` getter already. */
  #extended: object | null | undefined

  constructor(controller: ShutdownController, options: RequestGateOptions = {}) {
    this.controller = controller
    this.#requestOf = options.requestOf
    this.#shared = controller.options.requestTimeoutMs === undefined ? Object.freeze({ signal: controller.signal }) : undefined
  }

  /**
   * Decides what happens to a request (see `Admission`). `carrier`, when
   * given, is the framework's per-request object that gets `lastcall`
   * (Express's `req`, Koa's `ctx`); leave it out when the framework has its
   * own way to declare it (Fastify's `decorateRequest`, with `contextFor`).
   */
  admit(req: ProbeRequest, res: ProbeResponse, carrier?: object): Admission {
    const controller = this.controller
    if (this.#adopting) {
      // Only the first request can find no server attached: adoption is one-shot.
      this.#adopting = false
      controller.adoptServerOf(req as IncomingMessage)
    }
    if (controller.handleProbe(req, res)) return 'answered'
    if (carrier !== undefined) {
      const proto = Object.getPrototypeOf(carrier) as object | null
      if (proto !== this.#extended) this.#expose(carrier, proto)
    }
    return controller.shouldReject() ? 'reject' : 'serve'
  }

  /** The `lastcall` of a request: for getters a framework declares (Fastify's `decorateRequest`). */
  contextFor(req: ProbeRequest): LastcallRequestContext {
    return this.#shared ?? { signal: this.controller.signalFor(req) }
  }

  /**
   * Frameworks give each request's object a prototype of their own meant for
   * extensions (Express: `app.request`, Koa: `app.context`), so one getter
   * there serves every request of the app without a property written on each
   * one on the hot path: measured 7.1% → 3.6% more instructions per Express
   * request (bench/overhead/instructions.mjs). A carrier whose prototype is
   * Node's or `Object`'s own gets the property itself, every time.
   */
  #expose(carrier: object, proto: object | null): void {
    const requestOf = this.#requestOf
    if (proto === null || proto === Object.prototype || proto === IncomingMessage.prototype || proto === Http2ServerRequest.prototype) {
      const req = requestOf === undefined ? (carrier as ProbeRequest) : requestOf(carrier)
      ;(carrier as { lastcall?: LastcallRequestContext }).lastcall = this.contextFor(req)
      return
    }
    this.#extended = proto
    if (Object.hasOwn(proto, 'lastcall')) return
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const gate = this
    Object.defineProperty(proto, 'lastcall', {
      configurable: true,
      get(this: object): LastcallRequestContext {
        return gate.contextFor(requestOf === undefined ? (this as ProbeRequest) : requestOf(this))
      },
      // An application may set its own `lastcall` on a request: it then shadows the getter.
      set(this: object, value: unknown) {
        Object.defineProperty(this, 'lastcall', { value, writable: true, configurable: true, enumerable: true })
      },
    })
  }
}
