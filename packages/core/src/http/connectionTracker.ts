import { Server as HttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Http2Session, IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from 'node:http2'
import { Server as HttpsServer } from 'node:https'
import type { Server as NetServer, Socket } from 'node:net'
import { clearImmediate, setImmediate } from 'node:timers'
import { Server as TlsServer } from 'node:tls'
import type { Clock, TimerHandle } from '../clock.js'
import { RequestTimeoutError } from '../errors.js'
import { abandonStream, closeSessionGracefully, isHttp2Response, streamCompleted } from './http2Sessions.js'
import { listenAlongside } from './listenAlongside.js'
import { NativeDrain } from './nativeServers.js'
import { RequestDeadlines } from './requestDeadlines.js'
import { seeRequestsFirst, type FirstLook } from './requestsFirst.js'
import { answerExpectContinue, oneMoreRequest, stopListening, type ServerEntry } from './serverControl.js'
import { rawUnavailable, sendUnavailable } from './serviceUnavailable.js'
import type { ArrivingRequest, ConnectionCounts, ConnectionKind, RequestCounts, TrackerOptions } from './trackerTypes.js'
import { WebSocketDrain, type WebSocketServerLike } from './webSockets.js'

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
  /**
   * Requests (HTTP/2: streams) whose response has not closed yet. HTTP/1.1
   * requests are counted here only while responses are followed (see
   * `#following`); before that, `response` and `earlier` say it.
   */
  inFlight: number
  /** Clock time of the last response end; only kept up to date while draining (see `drain`). */
  lastActive: number
  /** The newest response still in flight, so the drain can ask it to close the connection. */
  response: ServerResponse | undefined
  /**
   * Before responses are followed: older responses of this connection that
   * were still open when a newer request arrived (HTTP/1.1 pipelining).
   * Almost always undefined.
   */
  earlier: ServerResponse[] | undefined
  /**
   * The response the drain gave `Connection: close`. Only the newest response
   * of a connection may carry it: Node closes the socket after that response,
   * and pipelined requests queued behind it would be dropped.
   */
  closing: ServerResponse | undefined
  cause: CloseCause | undefined
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
 * Normal operation costs a Map lookup and a field write per request, no
 * listener and no clock read: an HTTP/1.1 response is in flight until it
 * closes (`res.destroyed`), and the connection's record keeps its newest
 * response, so which requests are in flight can be read from the records
 * when it matters. From the moment the shutdown starts (or always, with
 * `requestTimeoutMs`), every response is followed through its `close` event
 * instead, so the drain and the report count each one as it ends. One
 * `close` listener function is shared by every socket and response. The only
 * timers are the linger sweep and the deadline, and only while draining.
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
  readonly #deadlines: RequestDeadlines
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
  /** HTTP/2 streams in flight, and HTTP/1.1 requests too while `#following`. */
  #inFlight = 0
  /** Whether every HTTP/1.1 response is followed through its `close` event (see the class comment). */
  #following: boolean
  #counting = false
  #hinting = false
  #draining = false
  #forcing = false
  #sweepTimer: TimerHandle | undefined
  /** The sweep's decision, put off until the event loop has polled the sockets once (see `#sweep`). */
  #sweepImmediate: ReturnType<typeof setImmediate> | undefined
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
    this.#deadlines = new RequestDeadlines(clock, options.requestTimeoutMs, options.drainSignal)
    // The per-request deadline is cleared when its response closes.
    this.#following = options.requestTimeoutMs !== undefined
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
    return this.#inFlight + (this.#following ? 0 : this.#openResponses()) + this.native.inFlight
  }

  /** HTTP/1.1 responses not closed yet, read from the records before responses are followed. O(connections). */
  #openResponses(): number {
    let open = 0
    for (const record of this.#records.values()) {
      if (record.response !== undefined && !record.response.destroyed) open++
      if (record.earlier !== undefined) for (const res of record.earlier) if (!res.destroyed) open++
    }
    return open
  }

  /**
   * From now on every HTTP/1.1 response is followed through its `close`
   * event: the ones still open now are taken from the records.
   */
  #follow(): void {
    if (this.#following) return
    this.#following = true
    for (const record of this.#records.values()) {
      const earlier = record.earlier
      record.earlier = undefined
      if (earlier !== undefined) for (const res of earlier) this.#followResponse(record, res)
      const res = record.response
      if (res === undefined) continue
      if (res.destroyed) record.response = undefined
      else this.#followResponse(record, res)
    }
  }

  #followResponse(record: ConnectionRecord, res: ServerResponse): void {
    if (res.destroyed) return
    record.inFlight++
    this.#inFlight++
    res.on('close', this.#onResponseClose)
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

  /**
   * Tracks `server`. `admit`, when given, sees each request right after the
   * tracker and before the application, and returns true when it answered
   * the request itself (a probe, a 503): the application never sees it.
   */
  add(server: NetServer, admit?: FirstLook): void {
    const known = this.#servers.find((e) => e.server === server)
    if (known !== undefined) {
      known.admit ??= admit
      return
    }
    const entry: ServerEntry = { server, closed: false, admit }
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
    // First, so the drain can still set `Connection: close` on a response
    // that the application's handler answers synchronously.
    seeRequestsFirst(server, (req: IncomingMessage, res: ServerResponse) => {
      this.#onRequest(req, res)
      return entry.admit !== undefined && entry.admit(req, res)
    })
    // Likewise: with no `upgrade` listener at all, Node serves an upgrade
    // request as an ordinary request, and that must stay so.
    listenAlongside(server, 'upgrade', this.#onUpgrade)
    if (server instanceof HttpServer || server instanceof HttpsServer) {
      answerExpectContinue(server, () => this.#options.shouldReject?.() === true, (req, res) => {
        this.#onRequest(req, res)
        this.countRejected()
        sendUnavailable(res, 'shutting-down')
      })
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
    this.#follow()
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
    this.#follow()
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
      socket: undefined, session, kind: 'h2', inFlight: 0, lastActive: 0, response: undefined, earlier: undefined, closing: undefined, cause: undefined,
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
    if (this.#options.requestTimeoutMs !== undefined) {
      this.#deadlines.start(stream, (controller) => {
        if (stream.writableEnded || stream.closed) return
        this.#timedOut({ method: headers[':method'], url: headers[':path'] }, controller)
        abandonStream(stream, 'deadline')
      })
    }
  }

  #streamClosed(stream: ServerHttp2Stream): void {
    this.#deadlines.clear(stream)
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
    if (this.#following) {
      record.inFlight++
      this.#inFlight++
      res.on('close', this.#onResponseClose)
    } else {
      const previous = record.response
      // Pipelined behind a response still open: both are in flight.
      if (previous !== undefined && !previous.destroyed) record.earlier = stillOpen(record.earlier, previous)
    }
    record.response = res
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
    if (this.#options.requestTimeoutMs !== undefined) this.#deadlines.start(req, (controller) => this.#expire(req, res, controller))
  }

  /** Bookkeeping shared by every request, HTTP/1.1 and HTTP/2 alike. */
  #arrived(req: ArrivingRequest | undefined): void {
    if (this.#counting) this.requests.arrivedDuringShutdown++
    if (req !== undefined) this.#options.onRequest?.(req)
  }

  /** The signal a handler should follow: see `RequestDeadlines#signalFor`. */
  signalFor(req: object): AbortSignal {
    return this.#deadlines.signalFor(req)
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
      socket, session: undefined, kind: 'http1', inFlight: 0, lastActive: this.#draining ? this.#clock.now() : 0, response: undefined, earlier: undefined, closing: undefined, cause: undefined,
    }
    this.#records.set(socket, record)
    socket.on('close', this.#onSocketClose)
    return record
  }

  #responseClosed(res: ServerResponse): void {
    this.#deadlines.clear(res.req)
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

  /**
   * The linger's timer only says that a connection may be due. Node runs due
   * timers before it polls sockets, so after the event loop stalled longer
   * than the linger (CPU starvation, a long GC, a busy handler) a request the
   * client sent well within the linger is still unread in the kernel, and the
   * connection looks idle: destroying it then resets that request. An
   * immediate runs after the next poll phase, when whatever was on the wire
   * has been read and counted as in flight.
   */
  readonly #sweep = (): void => {
    this.#sweepTimer = undefined
    this.#sweepImmediate ??= setImmediate(this.#sweepNow)
  }

  readonly #sweepNow = (): void => {
    this.#sweepImmediate = undefined
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
    if (this.#sweepTimer !== undefined || this.#sweepImmediate !== undefined || this.#drained === undefined) return
    this.#sweepTimer = this.#clock.setTimeout(this.#sweep, Math.max(1, ms))
  }

  #clearSweep(): void {
    if (this.#sweepImmediate !== undefined) clearImmediate(this.#sweepImmediate)
    this.#sweepImmediate = undefined
    if (this.#sweepTimer === undefined) return
    this.#clock.clearTimeout(this.#sweepTimer)
    this.#sweepTimer = undefined
  }
}

/** `earlier` without the responses that closed since, and `res`. */
function stillOpen(earlier: ServerResponse[] | undefined, res: ServerResponse): ServerResponse[] {
  const open = earlier === undefined ? [] : earlier.filter((r) => !r.destroyed)
  open.push(res)
  return open
}

function addressKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}

function ignore(): void {}

