import type { Clock, TimerHandle } from '../clock.js'
import { RequestTimeoutError } from '../errors.js'
import type { ArrivingRequest, ConnectionCounts, RequestCounts, TrackerOptions } from './trackerTypes.js'
import { GOING_AWAY, GOING_AWAY_REASON } from './webSockets.js'

/**
 * A server the runtime runs itself (`Bun.serve`, `Deno.serve`): lastcall
 * cannot see its connections, only its requests (through `FetchGate`) and its
 * WebSockets (when the driver reports them), and can ask it to stop. A
 * runtime's driver wraps its server in this shape and hands it to
 * `controller.attach()`; the drain then:
 *
 * 1. answers every response with `Connection: close` from the drain's start;
 * 2. calls `stop()`, `idleLingerMs` later when `stopClosesIdle` (see there), at once otherwise;
 * 3. waits for every request in flight (a streaming body until it ends), every
 *    WebSocket, and the promise `stop()` returned;
 * 4. at the drain deadline calls `force()`, and counts what was left as forced.
 */
export interface NativeServer {
  /**
   * Stops accepting connections; requests in flight go on. Bun:
   * `server.stop(false)`; Deno: `server.shutdown()`. When it returns a
   * promise, the drain also waits for it (both runtimes settle it once their
   * last connection is done).
   */
  stop(): unknown
  /**
   * The drain deadline: cuts every connection still open. Bun:
   * `server.stop(true)`; Deno: abort the `signal` given to `Deno.serve` only
   * if `shutdown()` has not run (after it, the abort throws inside Deno 2.9
   * and ends the process), else answer each running handler with a body
   * that fails at once (`@lastcall/deno`; docs/runtimes.md).
   */
  force(): unknown
  /**
   * How many responses the server is still sending, the requests lastcall
   * counts itself included (Bun: `server.pendingRequests`, which counts a
   * request from its arrival to the last byte of its body). For a server
   * that follows responses itself (`FetchGate`'s `serverFollowsResponses`):
   * the drain's `inFlight` is at least this, and at the deadline what it
   * still counts is counted as forced. The drain's end does not need it: it
   * waits for `stop()`'s promise, which such a server settles after its last
   * response.
   */
  pending?(): number
  /**
   * Whether `stop()` also closes the keep-alive connections idle at that
   * instant, as Bun's `stop(false)` does (measured: docs/runtimes.md): a
   * request a client sends on one then is reset. When true, lastcall keeps the
   * server listening for `idleLingerMs` after the drain starts, answering every
   * request with `Connection: close` (so a request already on its way on an
   * idle connection is served, and the client closes it), and calls `stop()`
   * after; connections idle for that whole time are then closed by the runtime.
   * @default true
   */
  readonly stopClosesIdle?: boolean
}

/** A native server's WebSocket, as its driver reports it: Bun's `ServerWebSocket`, Deno's `WebSocket`. */
export interface NativeWebSocket {
  close(code?: number, reason?: string): void
  /** Closes at once, without the close handshake (Bun's `terminate()`). Without it, a client that does not answer the close frame is cut by `force()` at the deadline. */
  terminate?(): void
}

/**
 * How a request of a native server ended. `cut`: the server cut it (its body
 * passed `requestTimeoutMs`): counted as timed out only.
 */
export type NativeOutcome = 'completed' | 'aborted' | 'cut'

interface NativeDeps {
  clock: Clock
  options: TrackerOptions
  requests: RequestCounts
  connections: ConnectionCounts
  /** Whether requests are counted for the report yet (from the start of the shutdown). */
  counting(): boolean
  /** Something finished: the tracker checks whether the drain is over. */
  changed(): void
}

interface ServerEntry {
  readonly server: NativeServer
  stopped: boolean
  finished: boolean
}

/** One request of a native server, from its arrival to the end of its response body. */
export class NativeRequest {
  /** Aborts when the drain starts, or when the request passes `requestTimeoutMs`. */
  readonly signal: AbortSignal
  /**
   * Set by whoever serves the request: called once when it passes
   * `requestTimeoutMs` before it ended (after `timedOut` was counted and the
   * signal aborted), to answer 503 or cut the body.
   */
  onTimeout: (() => void) | undefined
  /**
   * Its response carries `Connection: close` (set from the drain's start): the
   * runtime closes the connection after it, which the report counts
   * (HTTP/1.1; the connection itself is not visible to lastcall).
   */
  closesConnection = false
  #drain: NativeDrain | undefined
  readonly #timer: TimerHandle | undefined
  readonly #clock: Clock

  constructor(drain: NativeDrain, clock: Clock, signal: AbortSignal, timeout?: { ms: number; expire: (request: NativeRequest) => void }) {
    this.#drain = drain
    this.#clock = clock
    this.signal = signal
    this.#timer = timeout === undefined ? undefined : clock.setTimeout(() => timeout.expire(this), timeout.ms)
  }

  /** Whether `end()` was called (or the deadline forced it). */
  get ended(): boolean {
    return this.#drain === undefined
  }

  /** The request is over: counted once, whatever calls it after. */
  end(outcome: NativeOutcome): void {
    const drain = this.#drain
    if (drain === undefined) return
    this.#drain = undefined
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    drain.ended(this, outcome)
  }
}

/**
 * The requests, WebSockets and servers of native servers (`NativeServer`),
 * drained alongside the tracker's own sockets: `ConnectionTracker` counts
 * them in `inFlight`, `open` and `idle`, and calls `drain()` and `force()`.
 */
export class NativeDrain {
  readonly #deps: NativeDeps
  readonly #servers: ServerEntry[] = []
  readonly #webSockets = new Set<NativeWebSocket>()
  /** WebSockets lastcall sent the close frame to, for the report's cause. */
  readonly #closedByUs = new WeakSet<NativeWebSocket>()
  readonly #requests = new Set<NativeRequest>()
  #draining = false
  #forcing = false
  #lingerTimer: TimerHandle | undefined
  #terminateTimer: TimerHandle | undefined
  /** While the servers linger before `stop()`: settles once they have been told to stop. */
  #held: Promise<void> | undefined
  #release: (() => void) | undefined

  constructor(deps: NativeDeps) {
    this.#deps = deps
  }

  /** Requests in flight right now (a streaming response until its body ends), as lastcall or the servers count them. */
  get inFlight(): number {
    return Math.max(this.#requests.size, this.#sending())
  }

  /** What the servers that count their responses (`NativeServer.pending`) are still sending. */
  #sending(): number {
    let sending = 0
    for (const entry of this.#servers) if (!entry.finished && entry.server.pending !== undefined) sending += entry.server.pending()
    return sending
  }

  /** WebSockets open right now: the only connections of a native server lastcall can see. */
  get open(): number {
    return this.#webSockets.size
  }

  /** Whether the drain started: responses carry `Connection: close` from then on. */
  get draining(): boolean {
    return this.#draining
  }

  /**
   * Between the drain's start and the servers' `stop()` (the linger, see
   * `NativeServer.stopClosesIdle`): a promise that settles right after
   * `stop()`. Requests arriving then wait for it before they are served, so
   * that they are in flight when `stop()` runs (a runtime closes only the
   * connections idle at that instant) and so that clients do not reconnect
   * to a listener about to close: answered at once with `Connection: close`,
   * a closed-loop client would open a new connection that `stop()` then
   * resets before its request is read (measured on Bun: docs/runtimes.md).
   */
  get held(): Promise<void> | undefined {
    return this.#held
  }

  /** Nothing in flight, no WebSocket open, and every server stopped and finished. */
  get idle(): boolean {
    return this.#requests.size === 0 && this.#webSockets.size === 0 && this.#servers.every((e) => e.finished)
  }

  add(server: NativeServer): void {
    if (this.#servers.some((e) => e.server === server)) return
    const entry: ServerEntry = { server, stopped: false, finished: false }
    this.#servers.push(entry)
    // Attached during the drain: it stops with the others, or now if their linger is over.
    if (this.#draining && this.#lingerTimer === undefined) this.#stop(entry)
  }

  /**
   * A request arrives (probes included): counted, given its signal, and fed to
   * the automatic readiness delay. `url` is its path and query.
   */
  begin(method: string, url: string, headers: { get(name: string): string | null }, remoteAddress: string | undefined): NativeRequest {
    const { options, requests, clock } = this.#deps
    if (this.#deps.counting()) requests.arrivedDuringShutdown++
    if (options.onRequest !== undefined) {
      const arriving: ArrivingRequest = { url, headers: { 'user-agent': headers.get('user-agent') ?? undefined }, socket: { remoteAddress } }
      options.onRequest(arriving)
    }
    const ms = options.requestTimeoutMs
    let request: NativeRequest
    if (ms === undefined) {
      request = new NativeRequest(this, clock, options.drainSignal)
    } else {
      const controller = new AbortController()
      request = new NativeRequest(this, clock, AbortSignal.any([controller.signal, options.drainSignal]), {
        ms,
        expire: (r) => {
          if (r.ended) return
          if (this.#deps.counting()) requests.timedOut++
          options.onRequestTimeout?.({ method, url })
          controller.abort(new RequestTimeoutError(ms))
          r.onTimeout?.()
        },
      })
    }
    this.#requests.add(request)
    return request
  }

  /** Called by `NativeRequest.end()`. */
  ended(request: NativeRequest, outcome: NativeOutcome): void {
    // Counted as forced, and no longer in flight, since `force()`.
    if (!this.#requests.delete(request)) return
    if (this.#deps.counting()) {
      if (outcome === 'completed') this.#deps.requests.completed++
      else if (outcome === 'aborted') this.#deps.requests.aborted++
    }
    if (request.closesConnection && this.#draining && !this.#forcing) {
      const c = this.#deps.connections
      c.byKind.http1++
      if (outcome === 'aborted') c.closedByClient++
      else c.closedAfterResponse++
    }
    if (this.#draining) this.#deps.changed()
  }

  /** A WebSocket opened: the drain sends it close code 1001 and waits for it. */
  webSocketOpened(ws: NativeWebSocket): void {
    this.#webSockets.add(ws)
    if (!this.#draining) return
    // A handshake that finished after the drain began: closed at once, with the same close timeout from now.
    this.#close(ws)
    this.#deps.clock.setTimeout(() => this.#terminate(ws), this.#deps.options.webSocketCloseTimeoutMs)
  }

  /** A WebSocket closed (either side). */
  webSocketClosed(ws: NativeWebSocket): void {
    if (!this.#webSockets.delete(ws) || !this.#draining || this.#forcing) return
    const c = this.#deps.connections
    c.byKind.upgraded++
    if (this.#closedByUs.has(ws)) c.closedAfterResponse++
    else c.closedByClient++
    this.#deps.changed()
  }

  /** The drain starts: WebSockets get 1001, servers stop (after the linger when their `stop()` closes idle connections). */
  drain(): void {
    if (this.#draining) return
    this.#draining = true
    const { clock, options } = this.#deps
    for (const ws of this.#webSockets) this.#close(ws)
    if (this.#webSockets.size > 0) {
      this.#terminateTimer = clock.setTimeout(() => {
        this.#terminateTimer = undefined
        for (const ws of this.#webSockets) this.#terminate(ws)
      }, options.webSocketCloseTimeoutMs)
    }
    const lingering = this.#servers.filter((e) => e.server.stopClosesIdle !== false)
    for (const entry of this.#servers) if (!lingering.includes(entry)) this.#stop(entry)
    if (lingering.length > 0) {
      this.#held = new Promise((resolve) => (this.#release = resolve))
      this.#lingerTimer = clock.setTimeout(() => {
        this.#lingerTimer = undefined
        for (const entry of this.#servers) this.#stop(entry)
        this.#releaseHeld()
      }, options.lingerMs)
    }
  }

  /** The deadline: every server's `force()`, WebSockets terminated, whatever was in flight counted as forced. */
  force(): void {
    if (this.#forcing) return
    this.#forcing = true
    this.#draining = true
    this.stop()
    this.#releaseHeld()
    const { requests, connections } = this.#deps
    // Responses a server was still sending count too. lastcall counted them as
    // completed when their handler answered: they are moved, not counted twice.
    const sending = this.#sending()
    const stillSending = Math.max(0, sending - this.#requests.size)
    requests.forced += Math.max(this.#requests.size, sending)
    requests.completed -= Math.min(stillSending, requests.completed)
    this.#requests.clear()
    for (const ws of this.#webSockets) {
      connections.forced++
      connections.byKind.upgraded++
      ws.terminate?.()
    }
    this.#webSockets.clear()
    for (const entry of this.#servers) {
      entry.stopped = true
      entry.finished = true
      try {
        entry.server.force()
      } catch {
        // A server that cannot be cut any further is gone as far as the drain can tell.
      }
    }
  }

  #releaseHeld(): void {
    this.#held = undefined
    this.#release?.()
    this.#release = undefined
  }

  /** Clears the timers (the drain is over). */
  stop(): void {
    const clock = this.#deps.clock
    if (this.#lingerTimer !== undefined) clock.clearTimeout(this.#lingerTimer)
    if (this.#terminateTimer !== undefined) clock.clearTimeout(this.#terminateTimer)
    this.#lingerTimer = undefined
    this.#terminateTimer = undefined
  }

  #stop(entry: ServerEntry): void {
    if (entry.stopped) return
    entry.stopped = true
    const finished = (): void => {
      entry.finished = true
      this.#deps.changed()
    }
    let result: unknown
    try {
      result = entry.server.stop()
    } catch {
      // Already stopped: nothing left to wait for from it.
      return finished()
    }
    if (isPromiseLike(result)) result.then(finished, finished)
    else finished()
  }

  #close(ws: NativeWebSocket): void {
    this.#closedByUs.add(ws)
    try {
      ws.close(GOING_AWAY, GOING_AWAY_REASON)
    } catch {
      // Closed already: its close event follows.
    }
  }

  #terminate(ws: NativeWebSocket): void {
    if (!this.#webSockets.has(ws) || ws.terminate === undefined) return
    this.#webSockets.delete(ws)
    const c = this.#deps.connections
    if (!this.#forcing) {
      c.forced++
      c.byKind.upgraded++
    }
    ws.terminate()
    this.#deps.changed()
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
