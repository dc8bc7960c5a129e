/**
 * What happens to a request on its way in, decided in one place: a probe is
 * answered here, a request that can no longer be served gets the 503, the
 * rest goes to the application. The tracker (HTTP/2 streams, the keep-alive
 * hint), `RequestGate` (every adapter) and the controller's own `handler()`
 * all ask this module, so the rule cannot differ between them.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { ResolvedOptions } from '../options.js'
import type { ProbeEndpoint, ProbeRequest, ProbeResponse, Probes } from '../readiness/probes.js'
import { hasReached, type ShutdownState } from '../shutdown/lifecycle.js'
import { sendUnavailable } from './serviceUnavailable.js'

export interface AdmissionParts {
  readonly options: Pick<ResolvedOptions, 'probes' | 'whileDraining'>
  readonly probes: Probes
  state(): ShutdownState
  /** Counts a request answered 503, for the report. */
  countRejected(): void
}

export class AdmissionPolicy {
  readonly #parts: AdmissionParts
  readonly #probesOn: boolean
  /** What `shouldReject()` answers, worked out once per state change rather than per request. */
  #rejecting = false
  /**
   * The request `classify()` saw last, its URL then, and its probe endpoint:
   * the URL is matched once per request. The URL is kept too because a
   * framework may rewrite it before its middleware runs (an Express sub-app
   * strips its mount path), and probes answer under the URL the adapter sees.
   */
  #seen: object | undefined
  #seenUrl: string | undefined
  #seenEndpoint: ProbeEndpoint | undefined

  constructor(parts: AdmissionParts) {
    this.#parts = parts
    this.#probesOn = parts.options.probes !== false
    this.stateChanged(parts.state())
  }

  /** The controller tells every change of state: `shouldReject()` follows it. */
  stateChanged(state: ShutdownState): void {
    this.#rejecting = hasReached(state, 'closing') || (state === 'draining' && this.#parts.options.whileDraining === 'reject')
  }

  /** Whether `url` is one of the probe endpoints (with probes on). */
  isProbe(url: string | undefined): boolean {
    return this.#probesOn && this.#parts.probes.kindOf(url) !== undefined
  }

  /**
   * The probe endpoint of a request arriving (undefined for any other
   * request, and with probes off), remembered so that `handleProbe()` for the
   * same request does not match its URL again. The tracker calls it for
   * every request, before the application and its adapter see it.
   */
  classify(req: { readonly url?: string | undefined }): ProbeEndpoint | undefined {
    const endpoint = this.#probesOn ? this.#parts.probes.match(req.url) : undefined
    this.#seen = req
    this.#seenUrl = req.url
    this.#seenEndpoint = endpoint
    return endpoint
  }

  /**
   * Whether a request arriving now must be answered 503: cleanup has begun,
   * or the drain started and `whileDraining` is `'reject'`.
   */
  shouldReject(): boolean {
    return this.#rejecting
  }

  /** Answers the request if it is a probe and returns true; false for any other request. */
  handleProbe(req: ProbeRequest, res: ProbeResponse): boolean {
    if (!this.#probesOn) return false
    const endpoint = req === this.#seen && req.url === this.#seenUrl ? this.#seenEndpoint : this.#parts.probes.match(req.url)
    if (endpoint === undefined) return false
    this.#parts.probes.answer(req, res, endpoint)
    return true
  }

  /** For fetch-style servers (`FetchGate`): the probe's web `Response`, or undefined for any other request (and with probes off). */
  probeResponse(request: Request, url: string): Promise<Response> | undefined {
    return this.#probesOn ? this.#parts.probes.respond(request, url) : undefined
  }

  /** Answers a rejected request: 503, `Retry-After`, `Connection: close` (HTTP/1), counted. A response already under way is cut. */
  reject(res: ServerResponse | Http2ServerResponse): void {
    this.#parts.countRejected()
    if (res.headersSent) {
      res.destroy()
      return
    }
    sendUnavailable(res, 'shutting-down')
  }

  /**
   * For `attach(server, { admit })`: answers a probe, or the 503 when the
   * request can no longer be served (with `render`, in the application's
   * shape), and returns true; false for a request the application serves.
   */
  atServer(render: ((req: IncomingMessage, res: ServerResponse) => void) | undefined): (req: IncomingMessage, res: ServerResponse) => boolean {
    return (req, res) => {
      if (this.handleProbe(req, res)) return true
      if (!this.shouldReject()) return false
      if (render === undefined) {
        this.reject(res)
      } else {
        this.#parts.countRejected()
        render(req, res)
      }
      return true
    }
  }

  /** A request listener: probes first, then 503 for what can no longer be served, then `handler`. */
  handler<Req extends ProbeRequest = IncomingMessage, Res extends ProbeResponse = ServerResponse>(handler: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
    return (req, res) => {
      if (this.handleProbe(req, res)) return
      if (this.shouldReject()) return this.reject(res as unknown as ServerResponse)
      handler(req, res)
    }
  }
}
