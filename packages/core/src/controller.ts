import { EventEmitter, setMaxListeners } from 'node:events'
import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2'
import { Server as NetServer } from 'node:net'
import { systemClock, type Clock } from './clock.js'
import { ConnectionTracker } from './http/connectionTracker.js'
import type { ArrivingRequest, ConnectionKind } from './http/trackerTypes.js'
import { AdmissionPolicy } from './http/admission.js'
import type { WebSocketServerLike } from './http/webSockets.js'
import type { NativeDrain, NativeServer } from './http/nativeServers.js'
import { LastcallError, LastcallOptionError } from './errors.js'
import { assertTransition, hasReached, reached, type ShutdownState } from './shutdown/lifecycle.js'
import { HookRunner, type HookOptions, type ShutdownHook } from './shutdown/hooks.js'
import { errorMessage, toLog, type Log } from './logger.js'
import type { CheckOptions, HealthCheck } from './readiness/checks.js'
import { Probes, type ProbeRequest, type ProbeResponse } from './readiness/probes.js'
import { AdaptiveDelay, proberKey, type DelayDecision } from './readiness/readinessDelay.js'
import { optionWarnings } from './optionWarnings.js'
import { resolveOptions, type ResolvedOptions, type ShutdownOptions } from './options.js'
import type { ShutdownReport } from './shutdown/report.js'
import { runShutdown, type RunningShutdown, type SequenceParts } from './shutdown/sequence.js'
import { processHost, SAME_SIGNAL_WINDOW_MS, type CrashKind, type Participant, type ProcessHost, type Trigger } from './process/signals.js'

/**
 * Where a function made by `withController` (`adapter/withController.ts`)
 * keeps the controller it carries: `instanceof` reads it.
 */
export const CARRIED_CONTROLLER = Symbol('lastcall.controller')

/** How often failing startup checks are tried again until they pass. */
const STARTUP_RETRY_MS = 1000

export interface ShutdownEvents {
  /** Every transition, with the state it left. */
  state: [state: ShutdownState, previous: ShutdownState]
  /** The shutdown finished (or timed out); the report is final. */
  closed: [report: ShutdownReport]
  /** A decision of the automatic readiness delay: a prober answered 'not ready', still waiting, ended (and why). */
  delay: [decision: DelayDecision]
}

/**
 * Anything `attach()` accepts: `http`, `https` and `http2` (`createServer`,
 * `createSecureServer`, with or without `allowHTTP1`) servers, and through
 * them framework servers.
 */
export type AttachableServer = NetServer

/** How `attach()` treats a server. */
export interface AttachOptions {
  /**
   * Answer probes, and refuse what can no longer be served (503), at the
   * server itself: before any `request` listener of the application runs,
   * the way `handler()` does around one listener. `true` sends core's
   * plain-text 503; a function sends it in the application's own shape
   * instead (lastcall has counted the request as rejected; the function
   * writes and ends the response). For adapters whose framework charges for
   * every per-request hook (Fastify). Requests that do not come through the
   * server (Fastify's `inject()`) are not seen. Ignored for native servers,
   * whose drivers admit each request themselves. Once given for a server,
   * it stays.
   * @default false
   */
  admit?: boolean | ((req: IncomingMessage, res: ServerResponse) => void) | undefined
}

/** What `FetchGate` (`@lastcall/core/adapter`) uses of a controller beyond its public API. */
export interface FetchParts {
  readonly native: NativeDrain
  probe(request: Request, url: string): Promise<Response> | undefined
}

let fetchPartsOf: (controller: ShutdownController) => FetchParts

export class ShutdownController extends EventEmitter<ShutdownEvents> {
  readonly #options: ResolvedOptions
  readonly #clock: Clock
  readonly #log: Log
  readonly #host: ProcessHost
  readonly #tracker: ConnectionTracker
  readonly #hooks: HookRunner
  readonly #probes: Probes
  readonly #admission: AdmissionPolicy
  readonly #adaptive: AdaptiveDelay | undefined
  readonly #drain = new AbortController()
  readonly #servers: Array<NetServer | NativeServer> = []
  readonly #participant: Participant
  #unregister: (() => void) | undefined
  #state: ShutdownState = 'starting'
  #checkingStartup = false
  #adoptionWarned = false
  #running: RunningShutdown | undefined
  #report: ShutdownReport | undefined
  /** The first uncaught error seen (`onCrash: 'shutdown'`): the report names it and exits 1. */
  #crash: { kind: CrashKind; error: string } | undefined

  /**
   * `instanceof` also holds for an adapter's middleware that carries a
   * controller (`withController`): `app.use(shutdown)` is the controller.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, controllerOf(value) ?? value)
  }

  static {
    fetchPartsOf = (c) => ({ native: c.#tracker.native, probe: (request, url) => c.#admission.probeResponse(request, url) })
  }

  constructor(options?: ShutdownOptions, host: ProcessHost = processHost()) {
    super()
    this.#options = resolveOptions(options, host.platform, host.env, host.facts())
    this.#host = host
    this.#clock = this.#options.clock ?? systemClock
    this.#log = toLog(this.#options.logger, console, (line) => host.stderr(line))
    if (this.#options.platformSummary !== undefined) this.#log('info', this.#options.platformSummary, { platform: this.#options.platform.name, timeoutMs: this.#options.timeoutMs, readinessDelayMs: this.#options.readinessDelayMs, drainTimeoutMs: this.#options.drainTimeoutMs, gracePeriodMs: this.#options.gracePeriodMs })
    this.#tracker = new ConnectionTracker(this.#clock, {
      lingerMs: this.#options.idleLingerMs,
      webSocketCloseTimeoutMs: this.#options.webSocketCloseTimeoutMs,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      drainSignal: this.#drain.signal,
      onRequest: (req) => this.#observe(req),
      shouldReject: () => this.#admission.shouldReject(),
      keepAliveHint: this.#options.keepAliveHint,
      isProbe: (url) => this.#admission.isProbe(url),
      // The path only: query strings often carry tokens.
      onRequestTimeout: (req) => this.#log('warn', `request passed requestTimeoutMs (${this.#options.requestTimeoutMs} ms)`, { method: req.method, path: pathOf(req.url) }),
      onNote: (message) => this.#log('warn', message),
    })
    this.#probes = new Probes(this.#options.probes === false ? {} : this.#options.probes, {
      state: () => (this.#state === 'starting' ? 'starting' : this.#state === 'serving' ? 'serving' : 'shutting-down'),
      clock: this.#clock,
      log: this.#log,
    })
    this.#admission = new AdmissionPolicy({ options: this.#options, probes: this.#probes, state: () => this.#state, countRejected: () => this.#tracker.countRejected() })
    if (this.#options.readinessDelayMs === 'auto') {
      this.#adaptive = new AdaptiveDelay({
        clock: this.#clock,
        log: this.#log,
        minMs: this.#options.readinessDelayMinMs,
        maxMs: this.#options.readinessDelayMaxMs,
        kubernetes: this.#options.kubernetes,
        emit: (decision) => {
          if (decision.type === 'probe-answered') this.#log('info', `readiness prober ${decision.prober} answered 'not ready'`, { ...decision })
          else if (decision.type === 'waiting') this.#log('debug', 'readiness delay waiting', { ...decision })
          this.#emit('delay', decision)
        },
      })
    }
    this.#hooks = new HookRunner(this.#options.phases, this.#options.hookTimeoutMs, this.#clock, this.#log)
    // Every request handler may listen to this one signal.
    setMaxListeners(0, this.#drain.signal)
    const exit = this.#options.exit
    this.#participant = {
      signals: this.#options.signals,
      exitsProcess: exit === true,
      trigger: (trigger) => this.#begin(trigger).then((report) => report.exitCode),
      abandon: (signal, code) => {
        this.#log('error', `second ${signal} during shutdown: exiting now with code ${code}`, { state: this.#state })
        this.#running?.cut(signal, code)
      },
      repeatedSignals: this.#options.platform.repeatedSignals,
      signalled: (signal, as) => {
        if (as === 'duplicate') this.#log('info', `${signal} again within ${SAME_SIGNAL_WINDOW_MS} ms: the same signal delivered twice, not a second one`, { state: this.#state })
        else this.#log('info', `${signal} received during the shutdown already running: carrying on; a second signal exits at once`, { state: this.#state })
      },
      status: () => ({ state: this.#state, hooks: this.#hooks.pending() }),
      crashed: this.#options.onCrash === 'shutdown'
        ? (kind, error) => {
            this.#crash ??= { kind, error: errorMessage(error) }
            const after = this.#state === 'closed' ? 'after the shutdown finished; exiting' : 'shutting down'
            this.#log('error', `${kind}: ${errorMessage(error)}; ${after}`, { err: error, state: this.#state })
          }
        : undefined,
    }
    if (this.#options.signals.length > 0 || this.#options.onCrash === 'shutdown') this.#unregister = host.register(this.#participant)
    for (const { message, fields } of optionWarnings(this.#options)) this.#log('warn', message, fields)
  }

  /** Where the lifecycle is now. */
  get state(): ShutdownState {
    return this.#state
  }

  /** Whether readiness passes: started and not shutting down. */
  get isReady(): boolean {
    return this.#state === 'serving'
  }

  /** Resolves once the lifecycle has reached `state` or gone past it (at once if it already has). */
  reached(state: ShutdownState): Promise<void> {
    return reached(this, state)
  }

  /** Whether a shutdown has started. */
  get isShuttingDown(): boolean {
    return hasReached(this.#state, 'leaving')
  }

  /**
   * Aborts when the drain starts. Streaming handlers (SSE, long polls) listen
   * to it to end their response so the client reconnects elsewhere.
   */
  get signal(): AbortSignal {
    return this.#drain.signal
  }

  /** Requests in flight on attached servers right now. */
  get inFlight(): number {
    return this.#tracker.inFlight
  }

  /** The final report, once the shutdown has finished. */
  get report(): ShutdownReport | undefined {
    return this.#report
  }

  /** The resolved options, defaults filled in. */
  get options(): Readonly<ResolvedOptions> {
    return this.#options
  }

  /**
   * Tracks a server's connections and requests and drains it on shutdown.
   * Attach right after creating it (connections accepted before are adopted
   * on their first request). Returns the server.
   *
   * Also takes a runtime's native server (`Bun.serve`, `Deno.serve`) wrapped
   * by its driver as a `NativeServer`: it is drained with the rest.
   */
  attach<S extends AttachableServer | NativeServer>(server: S, options: AttachOptions = {}): S {
    const native = isNativeServer(server)
    const admit = options.admit ?? false
    if (typeof admit !== 'boolean' && typeof admit !== 'function') {
      throw new LastcallOptionError('attach(server, { admit })', admit, 'true, false, or a function (req, res) that sends the 503')
    }
    if (!native && (!isServer(server) || typeof (server as { setTimeout?: unknown }).setTimeout !== 'function')) {
      throw new LastcallOptionError('attach(server)', server, 'an http, https or http2 server (a net.Server with setTimeout, from createServer or createSecureServer)')
    }
    // Native servers admit each request in their driver (`FetchGate`).
    const atServer = admit === false || native ? undefined : this.#admission.atServer(admit === true ? undefined : admit)
    if (this.#servers.includes(server)) {
      if (atServer !== undefined) this.#tracker.add(server as AttachableServer, atServer)
      return server
    }
    if (hasReached(this.#state, 'closing')) {
      throw new LastcallError(
        'LASTCALL_INVALID_STATE',
        `lastcall: cannot attach a server once the drain is over (state ${this.#state}): nothing would drain or close it. Attach servers before the shutdown, or close this one yourself.`,
      )
    }
    if (this.#state === 'draining') this.#log('warn', 'a server was attached during the drain: it stops listening now and its connections drain with the others, under the same deadline')
    this.#servers.push(server)
    if (native) {
      this.#tracker.native.add(server)
      this.#maybeReady()
      return server
    }
    const keepAlive = this.#options.keepAliveTimeoutMs
    if (keepAlive !== undefined && 'keepAliveTimeout' in server) {
      const http = server as unknown as HttpServer
      http.keepAliveTimeout = keepAlive
      // Above keepAliveTimeout, so a connection is never timed out for a head it is about to receive.
      http.headersTimeout = keepAlive + 1000
      if (http.requestTimeout > 0 && http.requestTimeout < http.headersTimeout) http.requestTimeout = http.headersTimeout
    }
    this.#tracker.add(server, atServer)
    if (!server.listening) server.once('listening', () => this.#maybeReady())
    this.#maybeReady()
    return server
  }

  /**
   * Hands over a `ws` WebSocketServer (`ws` is not a dependency of lastcall;
   * any object with the same `clients` set and `connection` event works).
   * When the drain starts, every client gets close code 1001 ("going away")
   * with a reason, and a client that has not finished the close handshake
   * `webSocketCloseTimeoutMs` later is terminated and counted as forced.
   * Hand it over before clients connect, and attach its HTTP server too.
   * Returns the WebSocketServer.
   */
  attachWebSockets<W extends WebSocketServerLike>(wss: W): W {
    if (typeof wss !== 'object' || wss === null || typeof (wss as { on?: unknown }).on !== 'function') {
      throw new LastcallOptionError('attachWebSockets(wss)', wss, 'a ws WebSocketServer (an object with on() and clients)')
    }
    this.#tracker.addWebSockets(wss)
    return wss
  }

  /**
   * Registers a cleanup hook. Hooks of one phase run in parallel; phases run
   * in order. Returns a function that removes the hook.
   */
  onShutdown(name: string, fn: ShutdownHook, options?: HookOptions): () => void {
    return this.#hooks.add(name, fn, options)
  }

  /**
   * Registers a health check served by the probe endpoints (`/readyz`,
   * `/healthz`, `/startupz`; see `CheckOptions.kind`). A check passes when it
   * returns anything but `false`, and fails when it returns `false`, throws
   * or passes its timeout. Returns a function that removes the check.
   */
  addCheck(name: string, fn: HealthCheck, options?: CheckOptions): () => void {
    return this.#probes.addCheck(name, fn, options)
  }

  /**
   * For adapters whose user may forget `attach()`: when no server is attached
   * yet, attaches the one this request arrived on and warns once (connections
   * accepted before, this request included, are not tracked). A no-op once
   * any server is attached, so adapters call it on every request.
   */
  adoptServerOf(req: IncomingMessage): void {
    if (this.#servers.length > 0 || this.#adoptionWarned || hasReached(this.#state, 'closing')) return
    this.#adoptionWarned = true
    // `socket.server` is set by `net` on accepted sockets (and kept by TLS sockets); Node does not document it.
    const server = (req.socket as { server?: unknown } | null)?.server
    if (isServer(server)) {
      this.attach(server)
      this.#log('warn', 'the middleware ran before attach(server) was called, so it attached the server of the first request. Connections opened before then, and this first request, are not tracked: call shutdown.attach(app.listen(...)) right after listen.')
    } else {
      this.#log('warn', 'the middleware ran before attach(server) was called, and the request has no server to attach: call shutdown.attach(server).')
    }
  }

  /** Marks the service ready (readiness passes) if it is still starting. */
  ready(): void {
    if (this.#state !== 'starting') return
    this.#setState('serving')
    this.#host.notifyReady(this.#log)
  }

  /**
   * Starts the shutdown. Resolves with the report when it is over; calling it
   * again returns the same promise. `skipReadinessDelay` starts at the drain,
   * for hosts that already stopped routing here (Fastify's own `close()`).
   */
  shutdown(reason = 'shutdown() called', options?: { skipReadinessDelay?: boolean }): Promise<ShutdownReport> {
    if (typeof reason !== 'string') throw new LastcallOptionError('shutdown(reason)', reason, 'a string')
    if (this.#unregister) this.#host.started(this.#participant)
    return this.#begin({ type: 'manual', reason }, options?.skipReadinessDelay === true)
  }

  /**
   * Whether a request arriving now must be rejected with 503: cleanup has
   * begun, or the drain started and `whileDraining` is `'reject'`.
   * Adapters ask this for every request that is not a probe.
   */
  shouldReject(): boolean {
    return this.#admission.shouldReject()
  }

  /** Counts a request an adapter rejected with 503, for the report. */
  countRejected(): void {
    this.#tracker.countRejected()
  }

  /**
   * Answers a request rejected during shutdown: 503, `Retry-After`,
   * `Connection: close`, counted. For plain node:http handlers; adapters
   * send the same status and headers in their framework's shape.
   */
  reject(res: ServerResponse | Http2ServerResponse): void {
    this.#admission.reject(res)
  }

  /**
   * The signal a request's handler should follow: it aborts when the drain
   * starts (and at the request's `requestTimeoutMs`, when set).
   */
  signalFor(req: IncomingMessage | Http2ServerRequest | ServerHttp2Stream): AbortSignal {
    return this.#tracker.signalFor(req)
  }

  /**
   * Answers the request if it is a probe (`/healthz`, `/readyz`, ...) and
   * returns true; returns false for any other request.
   */
  handleProbe(req: ProbeRequest, res: ProbeResponse): boolean {
    return this.#admission.handleProbe(req, res)
  }

  /**
   * A request listener for `http`, `https` or `http2` (compatibility API)
   * servers: probes first, then 503 for what can no longer be served, then `handler`.
   */
  handler<Req extends ProbeRequest = IncomingMessage, Res extends ProbeResponse = ServerResponse>(handler: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
    if (typeof handler !== 'function') throw new LastcallOptionError('handler(handler)', handler, 'a request listener, a function (req, res) => void')
    return this.#admission.handler(handler)
  }

  /** Removes the signal listeners this controller installed. */
  dispose(): void {
    this.#unregister?.()
    this.#unregister = undefined
  }

  /**
   * Every request as it arrives, before the application: its URL matched to a
   * probe endpoint once (`AdmissionPolicy#classify`), and the automatic
   * readiness delay fed with readiness probes and application requests.
   */
  #observe(req: ArrivingRequest): void {
    const endpoint = this.#admission.classify(req)
    const adaptive = this.#adaptive
    if (adaptive === undefined) return
    if (endpoint === undefined) return adaptive.observeRequest()
    if (endpoint.kind !== 'readiness') return
    adaptive.observeProbe(proberKey(req.socket.remoteAddress, req.headers['user-agent']), this.isReady)
  }

  #maybeReady(): void {
    if (this.#state !== 'starting' || this.#options.manualReady || this.#checkingStartup) return
    // A native server listens from its creation on.
    if (this.#servers.length === 0 || !this.#servers.every((s) => !(s instanceof NetServer || s instanceof HttpServer) || s.listening)) return
    this.#checkingStartup = true
    this.#probes.startupPassed().then(
      (passed) => {
        this.#checkingStartup = false
        if (passed) this.ready()
        else this.#clock.setTimeout(() => this.#maybeReady(), STARTUP_RETRY_MS)
      },
      (error: unknown) => {
        this.#checkingStartup = false
        this.#log('error', 'startup checks threw', { err: error })
        this.#clock.setTimeout(() => this.#maybeReady(), STARTUP_RETRY_MS)
      },
    )
  }

  #setState(next: ShutdownState): void {
    const previous = this.#state
    assertTransition(previous, next)
    this.#state = next
    this.#admission.stateChanged(next)
    this.#emit('state', next, previous)
  }

  /**
   * Calls every listener of `event` as `emit` would, but one that throws (or
   * returns a promise that rejects) is reported and the others still run:
   * user code never breaks the drain or changes the exit code.
   */
  #emit<K extends keyof ShutdownEvents>(event: K, ...args: ShutdownEvents[K]): void {
    for (const listener of this.rawListeners(event) as Array<(...a: unknown[]) => unknown>) {
      try {
        const result = listener.apply(this, args)
        if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.#userCodeFailed(`a "${event}" listener`, error))
      } catch (error) {
        this.#userCodeFailed(`a "${event}" listener`, error)
      }
    }
  }

  /** Reports an error thrown by user code lastcall calls; on standard error when logging is off. */
  #userCodeFailed(what: string, error: unknown): void {
    const message = `${what} threw: ${errorMessage(error)}; the shutdown goes on`
    if (this.#options.logger === false) this.#host.stderr(`[lastcall] ${message}`)
    else this.#log('error', message, { err: error })
  }

  #begin(trigger: Trigger, skipReadinessDelay = false): Promise<ShutdownReport> {
    this.#running ??= runShutdown(this.#sequenceParts(), trigger, skipReadinessDelay)
    return this.#running.done
  }

  /** What the shutdown sequence works with, and how it reports back here. */
  #sequenceParts(): SequenceParts {
    return {
      options: this.#options,
      clock: this.#clock,
      log: this.#log,
      drainable: this.#tracker,
      hooks: this.#hooks,
      adaptive: this.#adaptive,
      drainSignal: this.#drain,
      state: () => this.#state,
      enter: (state) => this.#setState(state),
      crash: () => this.#crash,
      notifyStopping: () => this.#host.notifyStopping(this.#log),
      closed: (report) => {
        this.#report = report
        this.#emit('closed', report)
      },
      // After a second signal the process host exits; only an exit function still hears of it.
      exit: (code, cut) => (cut ? this.#callExit(code) : this.#exit(code)),
    }
  }

  #exit(code: number): void {
    this.#callExit(code)
    if (this.#options.exit === true || this.#unregister) this.#host.finished(this.#participant, code)
  }

  #callExit(code: number): void {
    const exit = this.#options.exit
    if (typeof exit !== 'function') return
    try {
      exit(code)
    } catch (error) {
      this.#userCodeFailed('the exit function', error)
    }
  }

  /** Connections open right now on attached servers, every kind together (for metrics). */
  get openConnections(): number {
    return this.#tracker.open
  }

  /** Connections open right now, by kind: `http1`, `h2` (sessions), `upgraded` (WebSockets). Counts them on each call. */
  openConnectionsByKind(): Record<ConnectionKind, number> {
    return this.#tracker.openByKind()
  }
}

/**
 * Creates a shutdown controller: attach servers to it, register cleanup
 * hooks, and it drains them on SIGTERM/SIGINT (or `shutdown()`).
 */
export function createShutdown(options?: ShutdownOptions): ShutdownController {
  return new ShutdownController(options)
}

/** A URL's path without its query string, which often carries tokens. */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/** The controller a function made by `withController` carries, or undefined for anything else. */
function controllerOf(value: unknown): ShutdownController | undefined {
  return typeof value === 'function' ? ((value as { [CARRIED_CONTROLLER]?: ShutdownController })[CARRIED_CONTROLLER]) : undefined
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** Node's HTTP servers are `net.Server`s; Bun's `node:http` Server is not one (docs/runtimes.md). */
function isServer(value: unknown): value is NetServer {
  return value instanceof NetServer || value instanceof HttpServer
}

function isNativeServer(value: unknown): value is NativeServer {
  return typeof value === 'object' && value !== null && !isServer(value) && typeof (value as NativeServer).stop === 'function' && typeof (value as NativeServer).force === 'function'
}

/** For `FetchGate`: the parts of a controller (or of an adapter's function carrying one) a fetch-style server's requests go through. */
export function fetchParts(controller: ShutdownController): FetchParts {
  return fetchPartsOf(controllerOf(controller) ?? controller)
}
