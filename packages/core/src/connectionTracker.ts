import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import type { Clock, TimerHandle } from './clock.js'
import { RequestTimeoutError } from './errors.js'

/** How a tracked connection speaks. */
export type ConnectionKind = 'http1' | 'h2' | 'upgraded'

type CloseCause = 'idle' | 'afterResponse' | 'forced'

interface ConnectionRecord {
  /** The socket requests arrive on: the TCP socket, or the TLS socket once the handshake is done. */
  socket: Socket
  kind: ConnectionKind
  /** Requests whose response has not closed yet. */
  inFlight: number
  /** Clock time of the last response end; only kept up to date while draining (see `drain`). */
  lastActive: number
  /** The newest response still in flight, so the drain can ask it to close the connection. */
  response: ServerResponse | undefined
  cause: CloseCause | undefined
}

export interface RequestCounts {
  /** Requests in flight when the drain started. */
  inFlightAtDrain: number
  /** Requests that arrived after shutdown started (readiness delay and drain). */
  arrivedDuringShutdown: number
  /** Responses that finished after shutdown started. */
  completed: number
  /** Responses rejected by an adapter (503) after shutdown started. */
  rejected: number
  /** Requests the client gave up on after shutdown started. */
  aborted: number
  /** Requests still in flight at the drain deadline, cut off. */
  forced: number
  /** Requests that passed `requestTimeoutMs` after shutdown started. */
  timedOut: number
}

export interface ConnectionCounts {
  /** Connections open when the drain started. */
  openAtDrain: number
  /** Closed by lastcall after lingering idle. */
  closedIdle: number
  /** Closed after their last response, with `Connection: close` or by ending the socket. */
  closedAfterResponse: number
  /** Closed by the client during the drain. */
  closedByClient: number
  /** Destroyed at the drain deadline. */
  forced: number
  /** Connections closed during the drain, by kind. */
  byKind: Record<ConnectionKind, number>
}

interface RequestDeadline {
  readonly controller: AbortController
  readonly signal: AbortSignal
  readonly timer: TimerHandle
}

export interface TrackerOptions {
  lingerMs: number
  /** Per-request deadline; undefined for none. */
  requestTimeoutMs: number | undefined
  /** Aborts when the drain starts; every request's signal follows it. */
  drainSignal: AbortSignal
  /** Called for every request as it arrives, before the application sees it. */
  onRequest?: ((req: IncomingMessage) => void) | undefined
  /** Called when a request passes its deadline, before it is answered or cut off. */
  onRequestTimeout?: (req: IncomingMessage) => void
}

/** Sent when a request passes `requestTimeoutMs`, and by adapters for requests they reject. */
export const RETRY_AFTER_SECONDS = 1

interface ServerEntry {
  server: NetServer
  closed: boolean
}

/**
 * Knows every connection and request of the servers attached to one
 * controller, from their events alone, and drains them.
 *
 * Normal operation costs a Map lookup and two counters per request and no
 * clock read; one `close` listener function is shared by every socket. The
 * only timers are the linger sweep and the deadline, and only while draining.
 */
export class ConnectionTracker {
  readonly requests: RequestCounts = { inFlightAtDrain: 0, arrivedDuringShutdown: 0, completed: 0, rejected: 0, aborted: 0, forced: 0, timedOut: 0 }
  readonly connections: ConnectionCounts = {
    openAtDrain: 0, closedIdle: 0, closedAfterResponse: 0, closedByClient: 0, forced: 0,
    byKind: { http1: 0, h2: 0, upgraded: 0 },
  }

  readonly #clock: Clock
  readonly #lingerMs: number
  readonly #options: TrackerOptions
  readonly #deadlines = new WeakMap<IncomingMessage, RequestDeadline>()
  readonly #records = new Map<Socket, ConnectionRecord>()
  /** TLS connections before their handshake, keyed by remote address and port. */
  readonly #handshaking = new Map<string, Socket>()
  readonly #servers: ServerEntry[] = []
  #inFlight = 0
  #counting = false
  #draining = false
  #forcing = false
  #sweepTimer: TimerHandle | undefined
  #drained: (() => void) | undefined

  readonly #onSocketClose: (this: Socket) => void
  readonly #onRawClose: (this: Socket) => void
  readonly #onResponseClose: (this: ServerResponse) => void

  constructor(clock: Clock, options: TrackerOptions) {
    this.#clock = clock
    this.#lingerMs = options.lingerMs
    this.#options = options
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracker = this
    this.#onSocketClose = function (this: Socket) {
      tracker.#socketClosed(this)
    }
    this.#onRawClose = function (this: Socket) {
      tracker.#handshaking.delete(addressKey(this))
      tracker.#checkDrained()
    }
    this.#onResponseClose = function (this: ServerResponse) {
      tracker.#responseClosed(this)
    }
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Connections open right now. */
  get open(): number {
    return this.#records.size + this.#handshaking.size
  }

  get draining(): boolean {
    return this.#draining
  }

  add(server: NetServer): void {
    if (this.#servers.some((e) => e.server === server)) return
    const entry: ServerEntry = { server, closed: false }
    this.#servers.push(entry)
    server.once('close', () => {
      entry.closed = true
      this.#checkDrained()
    })
    if (server instanceof TlsServer) {
      server.on('connection', this.#onTlsConnection)
      server.on('secureConnection', this.#onConnection)
    } else {
      server.on('connection', this.#onConnection)
    }
    // Prepended, so the drain can still set `Connection: close` on a response
    // that the application's handler answers synchronously.
    server.prependListener('request', this.#onRequest)
    // A server that starts listening after the drain began is closed at once.
    server.on('listening', () => {
      if (this.#draining) stopListening(entry)
    })
  }

  /** From now on, requests and responses are counted for the report. */
  startCounting(): void {
    this.#counting = true
  }

  /** Counts a request an adapter rejected with 503. */
  countRejected(): void {
    if (this.#counting) this.requests.rejected++
  }

  /**
   * Stops accepting, lets in-flight requests finish and closes idle
   * connections after the linger. Resolves when every connection is gone and
   * every server has closed; `force()` ends it early.
   */
  drain(): Promise<void> {
    this.#draining = true
    this.startCounting()
    const now = this.#clock.now()
    for (const entry of this.#servers) stopListening(entry)
    this.connections.openAtDrain = this.open
    this.requests.inFlightAtDrain = this.#inFlight
    for (const record of this.#records.values()) {
      if (record.inFlight > 0) {
        const res = record.response
        if (res !== undefined && !res.headersSent) res.setHeader('Connection', 'close')
      } else {
        // Whether it was idle for a minute or a millisecond is not known
        // (normal operation reads no clock), so every idle connection
        // lingers from now: the conservative choice.
        record.lastActive = now
      }
    }
    return new Promise((resolve) => {
      this.#drained = resolve
      this.#scheduleSweep(this.#lingerMs)
      this.#checkDrained()
    })
  }

  /** The deadline: destroys whatever is left, counts it, and ends the drain. */
  force(): void {
    if (this.#forcing) return
    this.#forcing = true
    this.#draining = true
    this.#clearSweep()
    for (const record of this.#records.values()) {
      this.requests.forced += record.inFlight
      this.connections.forced++
      this.connections.byKind[record.kind]++
      record.cause = 'forced'
      record.socket.destroy()
    }
    for (const socket of this.#handshaking.values()) {
      this.connections.forced++
      socket.destroy()
    }
    for (const entry of this.#servers) {
      stopListening(entry)
      // Connections accepted before `attach()` are unknown to the tracker.
      ;(entry.server as Partial<HttpServer>).closeAllConnections?.()
    }
    const drained = this.#drained
    this.#drained = undefined
    drained?.()
  }

  /** Whether every connection is gone. */
  get idle(): boolean {
    return this.#records.size === 0 && this.#handshaking.size === 0
  }

  readonly #onConnection = (socket: Socket): void => {
    if (this.#records.has(socket)) return
    this.#track(socket)
    if (this.#handshaking.size > 0) this.#handshaking.delete(addressKey(socket))
  }

  readonly #onTlsConnection = (raw: Socket): void => {
    this.#handshaking.set(addressKey(raw), raw)
    raw.on('close', this.#onRawClose)
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket
    // A connection accepted before `attach()` is adopted on its first request.
    const record = this.#records.get(socket) ?? this.#track(socket)
    record.inFlight++
    record.response = res
    this.#inFlight++
    res.on('close', this.#onResponseClose)
    if (this.#counting) this.requests.arrivedDuringShutdown++
    this.#options.onRequest?.(req)
    if (this.#draining) res.setHeader('Connection', 'close')
    if (this.#options.requestTimeoutMs !== undefined) this.#startDeadline(req, res, this.#options.requestTimeoutMs)
  }

  /**
   * The signal a handler should follow: it aborts when the drain starts, or
   * when the request passes `requestTimeoutMs`.
   */
  signalFor(req: IncomingMessage): AbortSignal {
    return this.#deadlines.get(req)?.signal ?? this.#options.drainSignal
  }

  #startDeadline(req: IncomingMessage, res: ServerResponse, ms: number): void {
    const controller = new AbortController()
    const timer = this.#clock.setTimeout(() => this.#expire(req, res, controller), ms)
    this.#deadlines.set(req, { controller, timer, signal: AbortSignal.any([controller.signal, this.#options.drainSignal]) })
  }

  #expire(req: IncomingMessage, res: ServerResponse, controller: AbortController): void {
    if (res.writableEnded) return
    if (this.#counting) this.requests.timedOut++
    this.#options.onRequestTimeout?.(req)
    controller.abort(new RequestTimeoutError(this.#options.requestTimeoutMs ?? 0))
    if (res.headersSent) {
      // Half a response is out: the only honest end is to cut the connection.
      res.destroy()
      return
    }
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' })
    res.end('Service Unavailable: request deadline passed\n')
  }

  #track(socket: Socket): ConnectionRecord {
    const record: ConnectionRecord = {
      socket, kind: 'http1', inFlight: 0, lastActive: this.#draining ? this.#clock.now() : 0, response: undefined, cause: undefined,
    }
    this.#records.set(socket, record)
    socket.on('close', this.#onSocketClose)
    return record
  }

  #responseClosed(res: ServerResponse): void {
    this.#inFlight--
    if (this.#options.requestTimeoutMs !== undefined) {
      const deadline = this.#deadlines.get(res.req)
      if (deadline !== undefined) this.#clock.clearTimeout(deadline.timer)
    }
    if (this.#counting && !this.#forcing) {
      if (res.writableFinished) this.requests.completed++
      else this.requests.aborted++
    }
    const record = this.#records.get(res.req.socket)
    if (record === undefined) return
    record.inFlight--
    if (record.response === res) record.response = undefined
    if (!this.#draining || record.inFlight > 0) return
    record.lastActive = this.#clock.now()
    // The head may have gone out with keep-alive before the drain began: end
    // the connection now that its last response is done.
    if (record.cause === undefined) record.cause = 'afterResponse'
    if (!record.socket.destroyed) record.socket.end()
  }

  #socketClosed(socket: Socket): void {
    const record = this.#records.get(socket)
    if (record === undefined) return
    this.#records.delete(socket)
    if (this.#draining && record.cause !== 'forced') {
      this.connections.byKind[record.kind]++
      if (record.cause === 'idle') this.connections.closedIdle++
      else if (record.cause === 'afterResponse') this.connections.closedAfterResponse++
      else this.connections.closedByClient++
    }
    this.#checkDrained()
  }

  #checkDrained(): void {
    if (!this.#draining || this.#drained === undefined || !this.idle) return
    let waiting = false
    for (const entry of this.#servers) {
      if (entry.closed) continue
      // Idle connections accepted before `attach()` are unknown to the
      // tracker and would keep the server from closing.
      ;(entry.server as Partial<HttpServer>).closeIdleConnections?.()
      waiting = true
    }
    if (waiting) return
    const drained = this.#drained
    this.#drained = undefined
    this.#clearSweep()
    drained()
  }

  readonly #sweep = (): void => {
    this.#sweepTimer = undefined
    const now = this.#clock.now()
    let next = Infinity
    for (const record of this.#records.values()) {
      if (record.inFlight > 0 || record.kind !== 'http1') continue
      const due = record.lastActive + this.#lingerMs
      if (due <= now) {
        record.cause = 'idle'
        record.socket.destroy()
      } else if (due < next) {
        next = due
      }
    }
    // TLS handshakes still unfinished after the linger are stuck clients.
    for (const raw of this.#handshaking.values()) raw.destroy()
    if (next !== Infinity) this.#scheduleSweep(next - now)
  }

  #scheduleSweep(ms: number): void {
    if (this.#sweepTimer !== undefined || this.#drained === undefined) return
    this.#sweepTimer = this.#clock.setTimeout(this.#sweep, Math.max(1, ms))
  }

  #clearSweep(): void {
    if (this.#sweepTimer === undefined) return
    this.#clock.clearTimeout(this.#sweepTimer)
    this.#sweepTimer = undefined
  }
}

function addressKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}

/**
 * Stops accepting new connections without touching open ones. On Node ≥ 19
 * `http.Server.prototype.close()` also destroys every connection idle at that
 * instant, including one a client is about to reuse: the keep-alive race.
 * `net.Server`'s own `close` has no such side effect.
 */
function stopListening(entry: ServerEntry): void {
  if (entry.server.listening) NetServer.prototype.close.call(entry.server)
  // A server that never listened emits no 'close' until it is closed; there
  // is nothing to wait for.
  else entry.closed = true
}
