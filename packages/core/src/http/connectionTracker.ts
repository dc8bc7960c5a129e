import { Server as HttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Http2Session, IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from 'node:http2'
import { Server as HttpsServer } from 'node:https'
import { Server as NetServer, type Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import type { Clock, TimerHandle } from '../clock.js'
import { RequestTimeoutError } from '../errors.js'
import { abandonStream, closeSessionGracefully, isHttp2Response, requestKey, streamCompleted } from './http2Sessions.js'
import { listenAlongside } from './listenAlongside.js'
import { NativeDrain } from './nativeServers.js'
import { rawUnavailable, sendUnavailable } from './serviceUnavailable.js'
import { stopBunListener } from './stopBunListener.js'
import { WebSocketDrain, type WebSocketServerLike } from './webSockets.js'

/** How a tracked connection speaks. */
export type ConnectionKind = 'http1' | 'h2' | 'upgraded'

/**
 * Why lastcall closed a connection. `terminated`: a WebSocket client that did
 * not finish the close handshake in time (counted as forced).
 */
type CloseCause = 'idle' | 'afterResponse' | 'terminated' | 'forced'

interface ConnectionRecord {
  /**
   * The socket requests arrive on: the TCP socket, or the TLS socket once the
   * handshake is done. Unknown only for an HTTP/2 session opened before `attach()`.
   */
  socket: Socket | undefined
  /** The HTTP/2 session on this connection (kind `h2`). */
  session: Http2Session | undefined
  kind: ConnectionKind
  /** Requests (HTTP/2: streams) whose response has not closed yet. */
  inFlight: number
  /** Clock time of the last response end; only kept up to date while draining (see `drain`). */
  lastActive: number
  /** The newest response still in flight, so the drain can ask it to close the connection. */
  response: ServerResponse | undefined
  /**
   * The response the drain gave `Connection: close`. Only the newest response
   * of a connection may carry it: Node closes the socket after that response,
   * and pipelined requests queued behind it would be dropped.
   */
  closing: ServerResponse | undefined
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
  /**
   * Closed after their last response: HTTP/1.1 with `Connection: close` or by
   * ending the socket, HTTP/2 after GOAWAY and its last stream, WebSocket
   * after the close handshake (code 1001).
   */
  closedAfterResponse: number
  /** Closed by the client during the drain. */
  closedByClient: number
  /**
   * Destroyed at the drain deadline, and WebSocket clients terminated because
   * they did not answer the close frame within `webSocketCloseTimeoutMs`.
   */
  forced: number
  /** Connections closed during the drain, by kind. */
  byKind: Record<ConnectionKind, number>
}

interface RequestDeadline {
  readonly controller: AbortController
  readonly signal: AbortSignal
  readonly timer: TimerHandle
}

/** What the `onRequest` observer sees of a request: an `http` request, or the head of an HTTP/2 stream. */
export interface ArrivingRequest {
  readonly url?: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly socket: { readonly remoteAddress?: string | undefined }
}

export interface TrackerOptions {
  /** Also bounds the PING round trip of the HTTP/2 two-step GOAWAY. */
  lingerMs: number
  /** How long a WebSocket client gets to answer the close frame. */
  webSocketCloseTimeoutMs: number
  /** Per-request deadline; undefined for none. */
  requestTimeoutMs: number | undefined
  /** Aborts when the drain starts; every request's signal follows it. */
  drainSignal: AbortSignal
  /** Called for every request (HTTP/2: every stream) as it arrives, before the application sees it. */
  onRequest?: ((req: ArrivingRequest) => void) | undefined
  /** Called when a request passes its deadline, before it is answered or cut off. */
  onRequestTimeout?: (req: { method?: string | undefined; url?: string | undefined }) => void
  /**
   * Whether a request arriving now is to be rejected (503). Asked for
   * requests that carry `Expect: 100-continue`, so they are refused before
   * the client is invited to send its body.
   */
  shouldReject?: (() => boolean) | undefined
  /** Advertise `Keep-Alive: timeout=1` from `leaving()` on (the `keepAliveHint` option). */
  keepAliveHint?: boolean | undefined
  /** Whether a URL is one of the probe endpoints: their responses never carry the keep-alive hint. */
  isProbe?: ((url: string | undefined) => boolean) | undefined
  /** Told when a server could only be stopped in a way that may reset idle keep-alive connections (Bun, see `stopBunListener`). */
  onNote?: ((message: string) => void) | undefined
}

/**
 * Advertised on keep-alive responses from the moment readiness fails, with
 * the `keepAliveHint` option. One
 * second is the only value every common Node client reads as "do not reuse
 * this socket": Node's `http.Agent` subtracts a 1 s buffer from the hint
 * (`agentKeepAliveTimeoutBuffer` on 22.20+/24.7+) and does not keep a
 * socket whose remaining time is 0; undici (`fetch`) subtracts 2 s
 * (`keepAliveTimeoutThreshold`, 1 s in undici 5) and marks the socket for
 * closing. Those clients then close the socket themselves after the
 * response, so the drain never has to close it under them.
 */
const KEEP_ALIVE_HINT = 'timeout=1'

/** The answer to a WebSocket (or other) upgrade asked for on a keep-alive connection during the drain. */
const UPGRADE_REFUSED = rawUnavailable('shutting-down')

interface ServerEntry {
  server: NetServer
  closed: boolean
}

/**
 * Knows every connection and request of the servers attached to one
 * controller, from their events alone, and drains them.
 *
 * - HTTP/1.1 (`http`, `https`, and `http2` with `allowHTTP1`): `Connection: close`
 *   on responses during the drain, idle sockets closed after the linger.
 * - HTTP/2: sessions from the `session` event, requests from the `stream`
 *   event; drained with the two-step GOAWAY (see `http2Sessions.ts`).
 * - Upgraded sockets (WebSocket): marked from the `upgrade` event; closed by
 *   `WebSocketDrain` for `ws` servers handed over, otherwise at the deadline.
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
  /** Keyed by the request (HTTP/1.1) or the stream (HTTP/2). */
  readonly #deadlines = new WeakMap<object, RequestDeadline>()
  /** Keyed by socket; an HTTP/2 session opened before `attach()` by the session. */
  readonly #records = new Map<Socket | Http2Session, ConnectionRecord>()
  readonly #sessions = new WeakMap<Http2Session, ConnectionRecord>()
  /** The connection of each HTTP/2 stream in flight (a closed stream no longer knows its session). */
  readonly #streams = new WeakMap<ServerHttp2Stream, ConnectionRecord>()
  /** TLS connections before their handshake, keyed by remote address and port. */
  readonly #handshaking = new Map<string, Socket>()
  readonly #servers: ServerEntry[] = []
  /** Responses the server cut or could never send: never counted as aborted by the client. */
  readonly #refused = new WeakSet<ServerResponse>()
  #inFlight = 0
  #counting = false
  #hinting = false
  #draining = false
  #forcing = false
  #sweepTimer: TimerHandle | undefined
  #drained: (() => void) | undefined
  /** The connection accepted last: Node creates its HTTP/2 session right after, in the same event. */
  #accepted: ConnectionRecord | undefined
  #webSockets: WebSocketDrain | undefined
  /** Requests, WebSockets and servers of native servers (`Bun.serve`, `Deno.serve`), drained alongside the sockets. */
  readonly native: NativeDrain

  readonly #onSocketClose: (this: Socket | Http2Session) => void
  readonly #onRawClose: (this: Socket) => void
  readonly #onResponseClose: (this: ServerResponse) => void
  readonly #onStreamClose: (this: ServerHttp2Stream) => void

  constructor(clock: Clock, options: TrackerOptions) {
    this.#clock = clock
    this.#lingerMs = options.lingerMs
    this.#options = options
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracker = this
    this.#onSocketClose = function (this: Socket | Http2Session) {
      tracker.#socketClosed(this)
    }
    this.#onRawClose = function (this: Socket) {
      tracker.#handshaking.delete(addressKey(this))
      tracker.#checkDrained()
    }
    this.#onResponseClose = function (this: ServerResponse) {
      tracker.#responseClosed(this)
    }
    this.#onStreamClose = function (this: ServerHttp2Stream) {
      tracker.#streamClosed(this)
    }
    this.native = new NativeDrain({
      clock, options, requests: this.requests, connections: this.connections, counting: () => this.#counting, changed: () => this.#checkDrained(),
    })
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.#inFlight + this.native.inFlight
  }

  /** Connections open right now. */
  get open(): number {
    return this.#records.size + this.#handshaking.size + this.native.open
  }

  /** Connections open right now, by kind (TLS handshakes count as http1). O(connections): for scrapes, not hot paths. */
  openByKind(): Record<ConnectionKind, number> {
    const counts: Record<ConnectionKind, number> = { http1: this.#handshaking.size, h2: 0, upgraded: this.native.open }
    for (const record of this.#records.values()) counts[record.kind]++
    return counts
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
    // Prepended: an HTTP/2 server creates its session inside its own listener
    // of this event, and the record must exist by then (see `#onSession`).
    if (server instanceof TlsServer) {
      server.on('connection', this.#onTlsConnection)
      server.prependListener('secureConnection', this.#onConnection)
    } else {
      server.prependListener('connection', this.#onConnection)
    }
    // Prepended, so the drain can still set `Connection: close` on a response
    // that the application's handler answers synchronously. Only alongside
    // the application's own listener: on an HTTP/2 server the first `request`
    // listener switches the compatibility API on (see `listenAlongside`).
    listenAlongside(server, 'request', this.#onRequest)
    // Likewise: with no `upgrade` listener at all, Node serves an upgrade
    // request as an ordinary request, and that must stay so.
    listenAlongside(server, 'upgrade', this.#onUpgrade)
    if (server instanceof HttpServer || server instanceof HttpsServer) {
      this.#answerExpectContinue(server)
      // Node answers these itself (503) without a `request` event: see `#oneMoreRequest`.
      server.on('dropRequest', this.#onDropRequest)
    }
    // Only HTTP/2 servers emit these; `http`/`https` servers never do.
    server.on('session', this.#onSession)
    server.prependListener('stream', this.#onStream)
    // A server that starts listening after the drain began is closed at once.
    server.on('listening', () => {
      if (this.#draining) stopListening(entry, this.#options.onNote)
    })
    // Attached during the drain (`attach()` when already draining): stop accepting now.
    if (this.#draining) stopListening(entry, this.#options.onNote)
  }

  /** From now on, requests and responses are counted for the report. */
  startCounting(): void {
    this.#counting = true
  }

  /**
   * Readiness fails from now on: requests are counted, and with
   * `keepAliveHint` keep-alive responses advertise `Keep-Alive: timeout=1`
   * (see `KEEP_ALIVE_HINT`), so clients that honour it retire their sockets
   * before the drain closes them.
   */
  leaving(): void {
    this.startCounting()
    this.#hinting = this.#options.keepAliveHint === true
  }

  /**
   * Closes the clients of a `ws` WebSocketServer when the drain starts: close
   * code 1001, then `terminate()` after `webSocketCloseTimeoutMs`.
   */
  addWebSockets(wss: WebSocketServerLike): void {
    this.#webSockets ??= new WebSocketDrain(this.#clock, this.#options.webSocketCloseTimeoutMs, {
      closing: (socket) => {
        const record = socket === undefined ? undefined : this.#records.get(socket)
        if (record !== undefined) record.cause ??= 'afterResponse'
      },
      terminating: (socket) => {
        const record = socket === undefined ? undefined : this.#records.get(socket)
        if (record !== undefined && record.cause !== 'forced') record.cause = 'terminated'
      },
    })
    this.#webSockets.add(wss)
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
    for (const entry of this.#servers) {
      stopListening(entry, this.#options.onNote)
      oneMoreRequest(entry.server)
    }
    this.connections.openAtDrain = this.open
    this.requests.inFlightAtDrain = this.inFlight
    for (const record of this.#records.values()) {
      if (record.kind === 'h2') {
        this.#goAway(record)
      } else if (record.inFlight > 0) {
        // The newest response only: one whose head already went out keeps
        // its socket usable for the linger after it ends (`#responseClosed`).
        const res = record.response
        if (res !== undefined && !res.headersSent) this.#closeAfter(record, res)
      } else {
        // Whether it was idle for a minute or a millisecond is not known
        // (normal operation reads no clock), so every idle connection
        // lingers from now: the conservative choice.
        record.lastActive = now
      }
    }
    this.#webSockets?.drain()
    this.native.drain()
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
      record.session?.destroy()
      record.socket?.destroy()
    }
    // Clients whose sockets this tracker never saw (a server not attached).
    this.#webSockets?.force()
    this.native.force()
    for (const socket of this.#handshaking.values()) {
      this.connections.forced++
      socket.destroy()
    }
    for (const entry of this.#servers) {
      stopListening(entry, this.#options.onNote)
      // Connections accepted before `attach()` are unknown to the tracker.
      ;(entry.server as Partial<HttpServer>).closeAllConnections?.()
    }
    // Destroyed sockets emit `close` only on a later tick: they are gone
    // already for `open`, `openByKind()` and `inFlight`, before `closing`.
    this.#records.clear()
    this.#handshaking.clear()
    this.#accepted = undefined
    this.#inFlight = 0
    const drained = this.#drained
    this.#drained = undefined
    drained?.()
  }

  /** Whether every connection is gone. */
  get idle(): boolean {
    return this.#records.size === 0 && this.#handshaking.size === 0 && this.native.idle
  }

  readonly #onConnection = (socket: Socket): void => {
    const known = this.#records.get(socket)
    if (known !== undefined) {
      this.#accepted = known
      return
    }
    this.#accepted = this.#track(socket)
    if (this.#handshaking.size > 0) this.#handshaking.delete(addressKey(socket))
  }

  /**
   * Node's HTTP/2 server emits `session` from inside its own `connection` (or
   * `secureConnection`) listener, right after ours ran for the same socket:
   * that connection's record becomes an `h2` record. `session.socket` is only
   * a proxy, so the remote address confirms the match. A session whose
   * connection was accepted before `attach()` gets a record of its own.
   */
  readonly #onSession = (session: Http2Session): void => {
    const accepted = this.#accepted
    this.#accepted = undefined
    let record: ConnectionRecord
    if (accepted?.socket !== undefined && accepted.session === undefined && addressKey(accepted.socket) === addressKey(session.socket)) {
      record = accepted
      record.kind = 'h2'
      record.session = session
    } else {
      record = this.#adoptSession(session)
    }
    this.#sessions.set(session, record)
    if (this.#draining) this.#goAway(record)
  }

  #adoptSession(session: Http2Session): ConnectionRecord {
    const record: ConnectionRecord = {
      socket: undefined, session, kind: 'h2', inFlight: 0, lastActive: 0, response: undefined, closing: undefined, cause: undefined,
    }
    this.#records.set(session, record)
    this.#sessions.set(session, record)
    session.once('close', this.#onSocketClose)
    return record
  }

  #goAway(record: ConnectionRecord): void {
    if (record.session === undefined) return
    record.cause ??= record.inFlight > 0 ? 'afterResponse' : 'idle'
    closeSessionGracefully(record.session, this.#clock, this.#lingerMs)
  }

  /** Every HTTP/2 request, whether the application uses the stream or the compatibility API. */
  readonly #onStream = (stream: ServerHttp2Stream, headers: Http2Headers): void => {
    const session = stream.session
    if (session === undefined) return
    const record = this.#sessions.get(session) ?? this.#adoptSession(session)
    record.inFlight++
    this.#inFlight++
    this.#streams.set(stream, record)
    stream.once('close', this.#onStreamClose)
    if (this.#options.onRequest !== undefined) {
      this.#arrived({ url: headers[':path'], headers: headers as IncomingHttpHeaders, socket: session.socket })
    } else {
      this.#arrived(undefined)
    }
    const ms = this.#options.requestTimeoutMs
    if (ms !== undefined) {
      this.#startDeadline(stream, ms, (controller) => {
        if (stream.writableEnded || stream.closed) return
        this.#timedOut({ method: headers[':method'], url: headers[':path'] }, controller)
        abandonStream(stream, 'deadline')
      })
    }
  }

  #streamClosed(stream: ServerHttp2Stream): void {
    this.#clearDeadline(stream)
    // Counted as forced, and no longer in flight, since `force()`.
    if (this.#forcing) return
    this.#inFlight--
    if (this.#counting) {
      if (streamCompleted(stream)) this.requests.completed++
      else this.requests.aborted++
    }
    const record = this.#streams.get(stream)
    if (record === undefined) return
    this.#streams.delete(stream)
    // The session's own `close()` (see `#goAway`) ends the connection after
    // its last stream; nothing else to do here.
    record.inFlight--
  }

  /**
   * An upgrade (WebSocket) request. Listened to only alongside the
   * application's own `upgrade` listener, and before it.
   */
  readonly #onUpgrade = (_req: IncomingMessage, socket: Socket): void => {
    const record = this.#records.get(socket) ?? this.#track(socket)
    if (!this.#draining) {
      record.kind = 'upgraded'
      return
    }
    // Only a keep-alive connection can still ask while draining. The
    // application's listener runs after this one: `ws` destroys a socket
    // that is no longer writable, and the error listener keeps another
    // handler's late write from crashing the process.
    if (this.#counting) {
      this.requests.arrivedDuringShutdown++
      this.requests.rejected++
    }
    record.cause = 'afterResponse'
    socket.on('error', ignore)
    socket.end(UPGRADE_REFUSED, () => socket.destroy())
  }

  /** A request Node refused by itself (`maxRequestsPerSocket`), its handler never run. */
  readonly #onDropRequest = (): void => {
    if (!this.#counting) return
    this.requests.arrivedDuringShutdown++
    this.requests.rejected++
  }

  readonly #onTlsConnection = (raw: Socket): void => {
    this.#handshaking.set(addressKey(raw), raw)
    raw.on('close', this.#onRawClose)
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // HTTP/2 compatibility requests are counted from their stream (`#onStream`).
    if (isHttp2Response(res)) return
    const socket = req.socket
    // A connection accepted before `attach()` is adopted on its first request.
    const record = this.#records.get(socket) ?? this.#track(socket)
    record.inFlight++
    record.response = res
    this.#inFlight++
    res.on('close', this.#onResponseClose)
    this.#arrived(req)
    // HTTP/1.1 only: connection-specific headers are illegal in HTTP/2.
    if (this.#draining) {
      // A pipelined request behind a response that already announced the
      // close: Node drops its response when that socket closes. HTTP tells
      // the client it was not served; the report says the server refused it.
      if (record.closing?.headersSent === true) this.#refused.add(res)
      else this.#closeAfter(record, res)
    } else if (this.#hinting && res.shouldKeepAlive && req.httpVersion === '1.1' && !this.#options.isProbe?.(req.url) &&
      // Node closes a connection that reached `maxRequestsPerSocket` unless a Connection header says otherwise.
      (res as { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached !== true) {
      // Set together: Node adds a Keep-Alive header of its own unless the
      // application (here, lastcall) sets Connection.
      res.setHeader('Connection', 'keep-alive')
      res.setHeader('Keep-Alive', KEEP_ALIVE_HINT)
    }
    const ms = this.#options.requestTimeoutMs
    if (ms !== undefined) this.#startDeadline(req, ms, (controller) => this.#expire(req, res, controller))
  }

  /** Bookkeeping shared by every request, HTTP/1.1 and HTTP/2 alike. */
  #arrived(req: ArrivingRequest | undefined): void {
    if (this.#counting) this.requests.arrivedDuringShutdown++
    if (req !== undefined) this.#options.onRequest?.(req)
  }

  /**
   * The signal a handler should follow: it aborts when the drain starts, or
   * when the request passes `requestTimeoutMs`. Takes an `http` request, an
   * HTTP/2 compatibility request or an HTTP/2 stream.
   */
  signalFor(req: object): AbortSignal {
    if (this.#options.requestTimeoutMs === undefined) return this.#options.drainSignal
    return this.#deadlines.get(requestKey(req))?.signal ?? this.#options.drainSignal
  }

  #startDeadline(key: object, ms: number, expire: (controller: AbortController) => void): void {
    const controller = new AbortController()
    const timer = this.#clock.setTimeout(() => expire(controller), ms)
    this.#deadlines.set(key, { controller, timer, signal: AbortSignal.any([controller.signal, this.#options.drainSignal]) })
  }

  #clearDeadline(key: object): void {
    if (this.#options.requestTimeoutMs === undefined) return
    const deadline = this.#deadlines.get(key)
    if (deadline !== undefined) this.#clock.clearTimeout(deadline.timer)
  }

  #timedOut(req: { method?: string | undefined; url?: string | undefined }, controller: AbortController): void {
    if (this.#counting) this.requests.timedOut++
    this.#options.onRequestTimeout?.(req)
    controller.abort(new RequestTimeoutError(this.#options.requestTimeoutMs ?? 0))
  }

  #expire(req: IncomingMessage, res: ServerResponse, controller: AbortController): void {
    if (res.writableEnded) return
    this.#timedOut(req, controller)
    if (res.headersSent) {
      // Half a response is out: the only honest end is to cut the connection.
      this.#refused.add(res)
      res.destroy()
      return
    }
    sendUnavailable(res, 'deadline')
  }

  #track(socket: Socket): ConnectionRecord {
    const record: ConnectionRecord = {
      socket, session: undefined, kind: 'http1', inFlight: 0, lastActive: this.#draining ? this.#clock.now() : 0, response: undefined, closing: undefined, cause: undefined,
    }
    this.#records.set(socket, record)
    socket.on('close', this.#onSocketClose)
    return record
  }

  #responseClosed(res: ServerResponse): void {
    this.#clearDeadline(res.req)
    // Counted as forced, and no longer in flight, since `force()`.
    if (this.#forcing) return
    this.#inFlight--
    if (this.#counting) {
      if (res.writableFinished) this.requests.completed++
      // Cut by the server (deadline passed after the head went out: counted
      // as timed out), or never writable (counted as rejected): not the client.
      else if (!this.#refused.has(res)) this.requests.aborted++
      else if (!res.headersSent) this.requests.rejected++
    }
    const record = this.#records.get(res.req.socket)
    if (record === undefined) return
    record.inFlight--
    if (record.response === res) record.response = undefined
    if (record.closing === res) record.closing = undefined
    if (!this.#draining || record.inFlight > 0) return
    record.lastActive = this.#clock.now()
    const socket = record.socket
    if (socket === undefined) return
    if (socket.writableEnded) {
      // Node ends the socket after a response that said `Connection: close`
      // (or to an HTTP/1.0 client): the server's close.
      record.cause ??= 'afterResponse'
      return
    }
    // The head went out with keep-alive before the drain began, so the
    // client may already be sending its next request on this socket: it
    // stays usable for the linger like any idle socket, and a request that
    // arrives is served with `Connection: close`.
    this.#scheduleSweep(this.#lingerMs)
  }

  /**
   * Gives `res` `Connection: close`, and takes it back from an older
   * response of the same connection still waiting to be written (pipelining):
   * Node would close the socket after that one and drop the rest.
   */
  #closeAfter(record: ConnectionRecord, res: ServerResponse): void {
    const previous = record.closing
    if (previous !== undefined && previous !== res && !previous.headersSent) previous.removeHeader('Connection')
    if (res.getHeader('Keep-Alive') === KEEP_ALIVE_HINT) res.removeHeader('Keep-Alive')
    res.setHeader('Connection', 'close')
    record.closing = res
  }

  /**
   * Node answers `Expect: 100-continue` with `100 Continue` by itself
   * before the application sees the request, unless the server has a
   * `checkContinue` listener. This one (only while the application has none
   * of its own) refuses a request lastcall rejects before inviting its body,
   * and otherwise does exactly what Node does.
   */
  #answerExpectContinue(server: HttpServer | HttpsServer): void {
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      if (this.#options.shouldReject?.() !== true) {
        res.writeContinue()
        server.emit('request', req, res)
        return
      }
      this.#onRequest(req, res)
      this.countRejected()
      sendUnavailable(res, 'shutting-down')
    }
    if (server.listenerCount('checkContinue') === 0) server.on('checkContinue', listener)
    server.on('newListener', (name: string | symbol, added: unknown) => {
      if (name === 'checkContinue' && added !== listener) server.removeListener('checkContinue', listener)
    })
  }

  #socketClosed(key: Socket | Http2Session): void {
    const record = this.#records.get(key)
    if (record === undefined) return
    this.#records.delete(key)
    if (this.#accepted === record) this.#accepted = undefined
    if (this.#draining && record.cause !== 'forced') {
      const c = this.connections
      c.byKind[record.kind]++
      if (record.cause === 'idle') c.closedIdle++
      else if (record.cause === 'afterResponse') c.closedAfterResponse++
      else if (record.cause === 'terminated') c.forced++
      else c.closedByClient++
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
    this.#webSockets?.stop()
    this.native.stop()
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
        record.socket?.destroy()
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

function ignore(): void {}

/**
 * From the drain on, each keep-alive connection serves one more request
 * (with `Connection: close`) and no other. RFC 9112 forbids processing
 * requests received after a response that announced the close, but Node runs
 * handlers for pipelined requests already read behind it and then drops their
 * responses with the socket. `maxRequestsPerSocket`, counted from the moment
 * it is set, makes Node itself refuse those (503, `dropRequest`, handler not
 * run); the client sees the close and may safely resend them. A limit the
 * application set itself is left alone.
 */
function oneMoreRequest(server: NetServer): void {
  if (!(server instanceof HttpServer || server instanceof HttpsServer)) return
  const http = server as HttpServer
  if (!((http.maxRequestsPerSocket ?? 0) > 0)) http.maxRequestsPerSocket = 1
}

/**
 * Stops accepting new connections without touching open ones. On Node ≥ 19
 * `http.Server.prototype.close()` also destroys every connection idle at that
 * instant, including one a client is about to reuse: the keep-alive race.
 * `net.Server`'s own `close` has no such side effect. Bun's `node:http`
 * Server is no `net.Server`: `stopBunListener` stops it without the sweep.
 */
function stopListening(entry: ServerEntry, onNote: ((message: string) => void) | undefined): void {
  // A server that never listened emits no 'close' until it is closed; there
  // is nothing to wait for.
  if (!entry.server.listening) entry.closed = true
  else if (entry.server instanceof NetServer) NetServer.prototype.close.call(entry.server)
  else {
    const note = stopBunListener(entry.server)
    if (note !== undefined) onNote?.(note)
  }
}
