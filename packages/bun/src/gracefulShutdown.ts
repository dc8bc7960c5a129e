import { LastcallOptionError, ShutdownController, type AttachableServer, type NativeServer, type ShutdownOptions } from '@lastcall/core'
import { FetchGate, type FetchResult, type LastcallRequest } from '@lastcall/core/adapter'

/**
 * The parts of Bun's `Server` (what `Bun.serve()` returns) lastcall uses.
 * Structural: this package does not depend on Bun's types.
 */
export interface BunServerLike {
  /** `stop(false)`: stop listening, let requests in flight finish. `stop(true)`: close every connection now. */
  stop(closeActiveConnections?: boolean): unknown
  upgrade(request: Request, options?: unknown): boolean
  /** The client's address, for the automatic readiness delay (which tells readiness probers apart). */
  requestIP?(request: Request): { address: string } | null
  /**
   * Requests whose response Bun is still sending, from their arrival to the
   * last byte of the body (a streaming one until it ends): lastcall reads it
   * for the drain's in-flight count and its deadline instead of following
   * each body itself (docs/runtimes.md, "Bun.serve").
   */
  readonly pendingRequests?: number
}

/** The parts of Bun's `ServerWebSocket` lastcall uses. */
export interface BunWebSocketLike {
  close(code?: number, reason?: string): void
  terminate(): void
}

/** A `websocket` handler object of `Bun.serve()` (`open`, `message`, `close`...). */
export interface BunWebSocketHandlers<W extends BunWebSocketLike = BunWebSocketLike> {
  open?(ws: W): unknown
  close?(ws: W, code: number, reason: string): unknown
}

/** Options of `gracefulShutdown()`: exactly the core's. */
export type BunShutdownOptions = ShutdownOptions

/**
 * The shutdown controller for `Bun.serve` (everything `createShutdown()`
 * returns: `onShutdown`, `addCheck`, `ready`, `shutdown()`...), plus the
 * three pieces a Bun server is wired with: `fetch()`, `websocket()`, `attach()`.
 */
export class BunShutdown extends ShutdownController {
  readonly #gate: FetchGate
  readonly #natives = new WeakMap<BunServerLike, NativeServer>()
  /** Whether a Bun server was attached, by `attach()` or from the first request. */
  #attached = false

  constructor(options?: BunShutdownOptions) {
    super(options)
    // Bun counts each response until its last byte (`pendingRequests`) and `stop(false)` waits for them: no body needs following.
    this.#gate = new FetchGate(this, { serverFollowsResponses: true })
  }

  /**
   * Wraps the app's `fetch` handler for `Bun.serve({ fetch })`: probes
   * (`/healthz`, `/readyz`...) are answered before it, a request that can no
   * longer be served gets 503, and every request it sees has
   * `request.lastcall.signal` (type `LastcallRequest`), which aborts when the
   * drain starts (and at `requestTimeoutMs`). The first request attaches its
   * server when `attach()` was not called (`export default { fetch }` style).
   * Returns a handler of the same type.
   */
  fetch<S, R>(handler: (this: S, request: LastcallRequest, server: S) => R): (this: S, request: Request, server: S) => R {
    if (typeof handler !== 'function') throw new LastcallOptionError('fetch(handler)', handler, 'a fetch handler, a function (request, server) => Response')
    const gate = this.#gate
    const address = this.options.readinessDelayMs === 'auto'
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const shutdown = this
    const app = handler as unknown as (this: unknown, request: LastcallRequest, server: unknown) => FetchResult | Promise<FetchResult>
    // Typed as the app's own result: Bun takes a Response or a promise of one from either.
    return function lastcall(this: S, request: Request, server: S) {
      const bun = server as BunServerLike | undefined
      if (!shutdown.#attached && bun !== undefined) shutdown.attach(bun)
      return gate.handle(request, (req) => app.call(this, req, server), address ? bun?.requestIP?.(request)?.address : undefined) as R
    }
  }

  /**
   * Wraps the `websocket` handlers of `Bun.serve({ websocket })`: open
   * WebSockets are closed with 1001 ("going away") when the drain starts, the
   * drain waits for them, and one that does not answer the close frame within
   * `webSocketCloseTimeoutMs` is terminated and counted as forced. Returns a
   * copy of `handlers` with `open` and `close` wrapped.
   */
  websocket<W extends BunWebSocketHandlers<any>>(handlers: W): W {
    if (typeof handlers !== 'object' || handlers === null) throw new LastcallOptionError('websocket(handlers)', handlers, 'the websocket handler object of Bun.serve()')
    const gate = this.#gate
    const { open, close } = handlers
    return {
      ...handlers,
      open(this: unknown, ws: BunWebSocketLike) {
        gate.webSocketOpened(ws)
        return open?.call(this, ws)
      },
      close(this: unknown, ws: BunWebSocketLike, code: number, reason: string) {
        gate.webSocketClosed(ws)
        return close?.call(this, ws, code, reason)
      },
    }
  }

  /**
   * Drains a Bun server (what `Bun.serve()` returns) on shutdown: it keeps
   * serving for `idleLingerMs` with `Connection: close` on every response,
   * then `stop(false)` (which would otherwise close idle keep-alive
   * connections under a client sending on them); the drain waits for requests
   * in flight and streaming bodies, and `stop(true)` cuts what is left at the
   * drain deadline. Also takes what `createShutdown()`'s `attach()` takes (a
   * `node:http` server). Returns the server.
   */
  override attach<S extends AttachableServer | NativeServer | BunServerLike>(server: S): S {
    if (!isBunServer(server)) return super.attach(server as AttachableServer | NativeServer) as S
    this.#attached = true
    let native = this.#natives.get(server)
    if (native === undefined) {
      native = { stop: () => server.stop(false), force: () => server.stop(true), pending: () => server.pendingRequests ?? 0, stopClosesIdle: true }
      this.#natives.set(server, native)
    }
    super.attach(native)
    return server
  }
}

/**
 * Graceful shutdown for `Bun.serve`:
 *
 * ```ts
 * const shutdown = gracefulShutdown()
 * shutdown.attach(Bun.serve({ port: 3000, fetch: shutdown.fetch(app.fetch), websocket: shutdown.websocket({ message() {} }) }))
 * ```
 *
 * SIGTERM and SIGINT start the shutdown (Bun's `process.on`), as on Node.
 */
export function gracefulShutdown(options?: BunShutdownOptions): BunShutdown {
  return new BunShutdown(options)
}

function isBunServer(value: unknown): value is BunServerLike {
  return typeof value === 'object' && value !== null && typeof (value as BunServerLike).stop === 'function' && typeof (value as BunServerLike).upgrade === 'function' && typeof (value as { force?: unknown }).force !== 'function'
}
