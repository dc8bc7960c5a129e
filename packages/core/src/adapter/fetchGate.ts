import { fetchParts, type ShutdownController } from '../controller.js'
import { RequestTimeoutError } from '../errors.js'
import type { NativeDrain, NativeRequest, NativeWebSocket } from '../http/nativeServers.js'
import { unavailableResponse } from '../http/serviceUnavailable.js'
import type { LastcallRequestContext } from './requestGate.js'

/** What the application's handler may answer: a `Response`, or nothing (a request the runtime upgraded to a WebSocket). */
export type FetchResult = Response | undefined | void

/** A web `Request` carrying its `lastcall` context, as `FetchGate` hands it to the application. */
export type LastcallRequest = Request & { readonly lastcall: LastcallRequestContext }

/** How a runtime driver builds its `FetchGate`. */
export interface FetchGateOptions {
  /**
   * The server follows every response to its end itself, so the gate leaves
   * bodies alone: its `NativeServer.pending()` counts the responses it is
   * still sending, and the promise its `stop()` returns waits for them
   * (Bun.serve: `pendingRequests`, `stop(false)`). A request then ends for
   * lastcall when its handler answers (counted completed, a client that
   * leaves mid-body included); the drain's `inFlight` and its deadline count
   * what the server is still sending. Ignored with `requestTimeoutMs`, whose
   * cut needs the body followed.
   * @default false
   */
  serverFollowsResponses?: boolean
}

/**
 * The per-request part of a fetch-style server's driver (`Bun.serve`,
 * `Deno.serve`): the `RequestGate` of web `Request`s and `Response`s. For
 * each request, in that order:
 *
 * 1. it is counted (in flight, and in the report from the shutdown's start)
 *    and fed to the automatic readiness delay (probers and application requests);
 * 2. a probe (`/healthz`, `/readyz`...) is answered, before the application;
 * 3. a request that can no longer be served gets lastcall's 503
 *    (`Retry-After`, `Connection: close`), counted as rejected;
 * 4. otherwise the request gets `request.lastcall` (`LastcallRequestContext`:
 *    its signal aborts at the drain and at `requestTimeoutMs`) and goes to
 *    the application.
 *
 * The request stays in flight until its response is over, so the drain
 * waits for it; who tells when depends on what the runtime offers
 * (`FetchGateOptions`, `handle()`'s `sent`):
 *
 * - the runtime's own signal for that response (`sent`: Deno.serve's
 *   `info.completed`): the body is not touched;
 * - the server's own count (`serverFollowsResponses`: Bun.serve's
 *   `pendingRequests`, and `stop(false)` waiting for them): the request ends
 *   for lastcall when the handler answers, its body is not touched, and the
 *   drain counts and waits for what the server is still sending;
 * - otherwise, and whenever `requestTimeoutMs` is set (a body has to be
 *   followed to be cut), the body is passed through a `ReadableStream` of
 *   lastcall's and followed to its end (a streaming response counts until it
 *   ends; the client leaving counts as aborted).
 *
 * Why not always follow: on Bun.serve it cost +3.9 µs per request with a
 * 2-byte text body, against +0.29 µs when Bun counts (the same as a response
 * without a body: counting, the probe check, `request.lastcall`), medians of
 * `bench/runtimes/bun-serve-cost.js` (docs/runtimes.md); a fixed body then
 * went out chunked, without its `Content-Length`; on Deno.serve reading
 * `response.body` alone costs ~5.6 µs (Deno makes a stream of a static body
 * it would otherwise write directly). From the drain's
 * start every response carries `Connection: close`. A handler that passes
 * `requestTimeoutMs` before answering gets 503 in its place; a body still
 * streaming then is cut (the runtime closes the connection).
 *
 * The server itself takes part in the drain through `controller.attach()`
 * with a `NativeServer` (stop, force); its WebSockets through
 * `webSocketOpened()`/`webSocketClosed()`.
 */
export class FetchGate {
  readonly controller: ShutdownController
  readonly #native: NativeDrain
  readonly #probe: (request: Request, url: string) => Promise<Response> | undefined
  /** A context shared by every request: without `requestTimeoutMs` they all follow the drain signal. */
  readonly #shared: LastcallRequestContext | undefined
  /** `requestTimeoutMs` is set: a body can be cut only when it passes through lastcall's stream, so every body does. */
  readonly #cutsBodies: boolean
  /** `serverFollowsResponses`. */
  readonly #serverFollows: boolean

  constructor(controller: ShutdownController, options: FetchGateOptions = {}) {
    const parts = fetchParts(controller)
    this.controller = controller
    this.#native = parts.native
    this.#probe = parts.probe
    this.#cutsBodies = controller.options.requestTimeoutMs !== undefined
    this.#shared = this.#cutsBodies ? undefined : Object.freeze({ signal: controller.signal })
    this.#serverFollows = options.serverFollowsResponses === true
  }

  /**
   * Serves one request. `serve` is the application's handler, called with the
   * request (which now has `lastcall`) only when it is to be served.
   * `remoteAddress` (the client's IP) tells readiness probers apart for the
   * automatic readiness delay. `sent`, when the runtime has one, settles once
   * it is done with this request's response (Deno.serve's `info.completed`):
   * the request stays in flight until then, and the body is left alone
   * (unless `requestTimeoutMs` has to cut it).
   */
  handle(request: Request, serve: (request: LastcallRequest) => FetchResult | PromiseLike<FetchResult>, remoteAddress?: string, sent?: PromiseLike<unknown>): Response | undefined | Promise<Response | undefined> {
    const url = pathOf(request.url)
    const record = this.#native.begin(request.method, url, request.headers, remoteAddress)
    // The servers are about to stop: served right after (see `NativeDrain.held`).
    const held = this.#native.held
    if (held !== undefined) return held.then(() => this.#admit(request, url, record, serve, sent))
    return this.#admit(request, url, record, serve, sent)
  }

  #admit(request: Request, url: string, record: NativeRequest, serve: (request: LastcallRequest) => FetchResult | PromiseLike<FetchResult>, sent: PromiseLike<unknown> | undefined): Response | undefined | Promise<Response | undefined> {
    const probe = this.#probe(request, url)
    if (probe !== undefined) return probe.then((response) => this.#own(record, response))
    if (this.controller.shouldReject()) {
      this.controller.countRejected()
      return this.#own(record, unavailableResponse('shutting-down'))
    }
    ;(request as { lastcall?: LastcallRequestContext }).lastcall = this.#shared ?? { signal: record.signal }
    let result: FetchResult | PromiseLike<FetchResult>
    try {
      result = serve(request as LastcallRequest)
    } catch (error) {
      // The runtime answers it (500): a response all the same.
      record.end('completed')
      throw error
    }
    if (!isPromiseLike(result)) return this.#respond(record, result, sent)
    if (this.#shared !== undefined) {
      return Promise.resolve(result).then(
        (response) => this.#respond(record, response, sent),
        (error: unknown) => {
          record.end('completed')
          throw error
        },
      )
    }
    return this.#race(record, result)
  }

  /** A WebSocket opened on the server: closed with 1001 at the drain, waited for, counted. */
  webSocketOpened(ws: NativeWebSocket): void {
    this.#native.webSocketOpened(ws)
  }

  /** A WebSocket closed, by either side. */
  webSocketClosed(ws: NativeWebSocket): void {
    this.#native.webSocketClosed(ws)
  }

  /** The application's answer, or lastcall's 503 when the request passes `requestTimeoutMs` first. */
  #race(record: NativeRequest, pending: PromiseLike<FetchResult>): Promise<Response | undefined> {
    return new Promise((resolve, reject) => {
      let settled = false
      record.onTimeout = () => {
        settled = true
        record.onTimeout = undefined
        resolve(this.#own(record, unavailableResponse('deadline')))
      }
      pending.then(
        (response) => {
          if (settled) return
          record.onTimeout = undefined
          resolve(this.#respond(record, response, undefined))
        },
        (error: unknown) => {
          if (settled) return
          record.onTimeout = undefined
          record.end('completed')
          reject(error)
        },
      )
    })
  }

  /** A response lastcall made itself (a probe's, a 503): a short body, written at once. */
  #own(record: NativeRequest, response: Response): Response {
    if (this.#native.draining) {
      response.headers.set('Connection', 'close')
      record.closesConnection = true
    }
    record.end('completed')
    return response
  }

  /** Hands a response to the runtime: `Connection: close` while draining, its end learned from the runtime or its body followed. */
  #respond(record: NativeRequest, response: FetchResult, sent: PromiseLike<unknown> | undefined): Response | undefined {
    if (!(response instanceof Response)) {
      // Upgraded (the runtime answered 101), or a handler that answered nothing: over for lastcall.
      record.end('completed')
      return undefined
    }
    record.closesConnection = this.#native.draining
    if (this.#cutsBodies || (sent === undefined && !this.#serverFollows)) return this.#follow(record, response)
    // The runtime tells when the response is over: not even `response.body` is read (on Deno that getter alone turns a static body into a stream).
    if (sent === undefined) record.end('completed')
    else sent.then(() => record.end('completed'), () => record.end('aborted'))
    return record.closesConnection ? closing(response) : response
  }

  /** `response` with its body passed through lastcall's stream, which ends `record` when the body ends (or is cut). */
  #follow(record: NativeRequest, response: Response): Response {
    const body = response.body
    if (body === null) {
      record.end('completed')
      return record.closesConnection ? closing(response) : response
    }
    const init: ResponseInit = { status: response.status, statusText: response.statusText, headers: record.closesConnection ? closingHeaders(response.headers) : response.headers }
    return new Response(followed(body, record, this.controller.options.requestTimeoutMs), init)
  }
}

/** `body`, ending `record` when it has been read to its end (completed), cancelled by the runtime (the client left) or cut at the request's deadline. */
function followed(body: ReadableStream<Uint8Array>, record: NativeRequest, timeoutMs: number | undefined): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let output!: ReadableStreamDefaultController<Uint8Array>
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      output = controller
    },
    pull(controller) {
      return reader.read().then(
        ({ done, value }) => {
          if (record.ended) return
          if (done) {
            controller.close()
            record.end('completed')
          } else {
            controller.enqueue(value)
          }
        },
        (error: unknown) => {
          controller.error(error)
          record.end('aborted')
        },
      )
    },
    cancel(reason) {
      record.end('aborted')
      return reader.cancel(reason)
    },
  })
  if (timeoutMs !== undefined) {
    record.onTimeout = () => {
      // Half a response is out: the only honest end is to cut it.
      record.end('cut')
      output.error(new RequestTimeoutError(timeoutMs))
      reader.cancel().catch(() => {})
    }
  }
  return stream
}

function closingHeaders(headers: Headers): Headers {
  const copy = new Headers(headers)
  copy.set('Connection', 'close')
  return copy
}

/** `response` with `Connection: close`; a copy, same body, when its headers are immutable (a `fetch()` response). */
function closing(response: Response): Response {
  try {
    response.headers.set('Connection', 'close')
    return response
  } catch {
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: closingHeaders(response.headers) })
  }
}

/** The path and query of an absolute request URL (`http://host/a?b` → `/a?b`). */
function pathOf(url: string): string {
  const authority = url.indexOf('//')
  const path = url.indexOf('/', authority === -1 ? 0 : authority + 2)
  return path === -1 ? '/' : url.slice(path)
}

function isPromiseLike(value: unknown): value is PromiseLike<FetchResult> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
