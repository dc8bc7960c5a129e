import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js'
import { LastcallError, LastcallOptionError, type HookContext, type HookOptions, type ShutdownHook, type ShutdownState } from '@lastcall/core'
import { HealthService, healthServiceDefinition } from './health.js'

/**
 * What `attachGrpc` needs from the controller. A `ShutdownController` from
 * `@lastcall/core`, or the controller of any adapter, fits.
 */
export interface GrpcShutdownHost {
  readonly state: ShutdownState
  readonly signal: AbortSignal
  readonly options: { readonly drainTimeoutMs: number }
  onShutdown(name: string, fn: ShutdownHook, options?: HookOptions): () => void
  on(event: 'state', listener: (state: ShutdownState, previous: ShutdownState) => void): unknown
}

/** The parts of a `@grpc/grpc-js` `Server` used. */
export interface GrpcServerLike {
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void
  tryShutdown(callback: (error?: Error) => void): void
  forceShutdown(): void
}

export interface AttachGrpcOptions {
  /**
   * Adds the standard health service (`grpc.health.v1.Health`, `Check` and
   * `Watch`) to the server: `SERVING` while the controller is `serving`,
   * `NOT_SERVING` before and from the first instant of the shutdown. Turn it
   * off when the server already has a health service of its own.
   * @default true
   */
  health?: boolean
  /**
   * The service names the health service answers for (`''` is the whole
   * server, what Kubernetes' gRPC probe asks when it names none). Any other
   * name gets `NOT_FOUND` from `Check` and `SERVICE_UNKNOWN` from `Watch`.
   * @default ['']
   */
  healthServices?: readonly string[]
  /**
   * The hook's name in the report; unique per controller.
   * @default 'grpc'
   */
  name?: string
  /**
   * The phase the drain runs in. It must start with the drain for the gRPC
   * server to stop at the same time as the HTTP servers.
   * @default 'intake'
   */
  phase?: string
  /**
   * How long calls in flight get after the drain starts before the server is
   * shut down by force (`forceShutdown()`) and what is left is counted as
   * forced. The hook's timeout is set to it, so the phase's and the
   * shutdown's `timeoutMs` still bound it: the force comes a little (at most
   * 200 ms) before the earliest of them.
   * @default the controller's `drainTimeoutMs`
   */
  drainTimeoutMs?: number
}

/** What happened to the calls of services added through `addService()` once the drain started. */
export interface GrpcCallCounts {
  /** Calls in flight when the drain started. */
  inFlightAtDrain: number
  /** Calls that ended with a status (OK or an error) after the drain started. */
  completed: number
  /** Calls the client cancelled (or whose deadline passed) after the drain started. */
  cancelled: number
  /** Calls still running at the force, cut off by `forceShutdown()`. */
  forced: number
}

export interface GrpcDrain {
  /**
   * `server.addService()` with every call counted, so the drain knows what
   * is in flight and the report says what became of it. Services added to
   * the server directly are drained all the same but not counted.
   */
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void
  /**
   * Aborts when the drain starts (the controller's `signal`): a long-lived
   * stream's handler listens to it and ends the stream with a status the
   * client understands, so it moves to another instance.
   */
  readonly signal: AbortSignal
  /** Counted calls running now. */
  readonly inFlight: number
  /** What became of the counted calls during the drain; all zero before it. */
  readonly counts: Readonly<GrpcCallCounts>
  /** The health service added to the server, or `undefined` with `health: false`. */
  readonly health: HealthService | undefined
}

const KEYS = new Set(['health', 'healthServices', 'name', 'phase', 'drainTimeoutMs'])

/** How long before its deadline the hook forces the server, so the report still says what was forced. */
function forceMarginMs(timeLeftMs: number): number {
  return Math.min(200, Math.floor(timeLeftMs / 10))
}

type Outcome = 'completed' | 'cancelled'

interface CallRecord {
  done: boolean
}

/**
 * Drains a `@grpc/grpc-js` server with the controller. A function of its own
 * package rather than a controller method: it needs `@grpc/grpc-js`'s types
 * and a peer dependency, and core has none.
 *
 * - From the first instant of the shutdown (`leaving`), the health service
 *   answers `NOT_SERVING` and every `Watch` stream is told.
 * - When the drain starts (a hook in the `intake` phase): `Watch` streams
 *   end, `server.tryShutdown()` stops accepting (GOAWAY on every HTTP/2
 *   session, new calls fail with `UNAVAILABLE`), calls in flight finish, and
 *   streams get `signal` to end themselves.
 * - At `drainTimeoutMs` (or a little before the hook's deadline),
 *   `forceShutdown()`; the calls it cut off are counted, and the hook fails
 *   so the exit code says so.
 */
export function attachGrpc(shutdown: GrpcShutdownHost, server: GrpcServerLike, options?: AttachGrpcOptions): GrpcDrain {
  if ((typeof shutdown !== 'object' && typeof shutdown !== 'function') || shutdown === null || typeof shutdown.onShutdown !== 'function') {
    throw new LastcallOptionError('attachGrpc(shutdown)', shutdown, 'a shutdown controller (createShutdown() from @lastcall/core)')
  }
  if (typeof server !== 'object' || server === null || typeof server.addService !== 'function' || typeof server.tryShutdown !== 'function' || typeof server.forceShutdown !== 'function') {
    throw new LastcallOptionError('attachGrpc(server)', server, 'a @grpc/grpc-js Server')
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new LastcallOptionError('attachGrpc(options)', options, `an object { ${[...KEYS].join('?, ')}? }`)
  }
  const o = options ?? {}
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new LastcallOptionError(`attachGrpc(options).${key}`, (o as Record<string, unknown>)[key], `one of the known options (${[...KEYS].join(', ')})`)
  }
  if (o.health !== undefined && typeof o.health !== 'boolean') throw new LastcallOptionError('attachGrpc(options).health', o.health, 'true or false')
  const healthServices = o.healthServices ?? ['']
  if (!Array.isArray(healthServices) || healthServices.length === 0 || healthServices.some((s) => typeof s !== 'string')) {
    throw new LastcallOptionError('attachGrpc(options).healthServices', o.healthServices, "a non-empty array of service names ('' for the whole server)")
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw new LastcallOptionError('attachGrpc(options).name', o.name, 'a string')
  if (o.phase !== undefined && typeof o.phase !== 'string') throw new LastcallOptionError('attachGrpc(options).phase', o.phase, 'a phase name')
  const drainTimeoutMs = o.drainTimeoutMs ?? shutdown.options.drainTimeoutMs
  if (typeof drainTimeoutMs !== 'number' || !Number.isFinite(drainTimeoutMs) || drainTimeoutMs <= 0) {
    throw new LastcallOptionError('attachGrpc(options).drainTimeoutMs', o.drainTimeoutMs, 'a finite number of milliseconds above 0')
  }
  const name = o.name ?? 'grpc'

  const counts: GrpcCallCounts = { inFlightAtDrain: 0, completed: 0, cancelled: 0, forced: 0 }
  const running = new Set<CallRecord>()
  let draining = false
  let idle: (() => void) | undefined

  const finish = (record: CallRecord, outcome: Outcome): void => {
    if (record.done) return
    record.done = true
    running.delete(record)
    if (draining) counts[outcome]++
    if (running.size === 0) idle?.()
  }

  const health = o.health === false ? undefined : new HealthService(healthServices, shutdown.state === 'serving' ? 'SERVING' : 'NOT_SERVING')
  if (health) {
    server.addService(healthServiceDefinition, health.implementation as unknown as UntypedServiceImplementation)
    shutdown.on('state', (state) => health.setAll(state === 'serving' ? 'SERVING' : 'NOT_SERVING'))
  }

  const addService = (service: ServiceDefinition, implementation: UntypedServiceImplementation): void => {
    if (typeof service !== 'object' || service === null) throw new LastcallOptionError('addService(service)', service, 'a gRPC service definition')
    if (typeof implementation !== 'object' || implementation === null) throw new LastcallOptionError('addService(implementation)', implementation, 'an object of method handlers')
    const wrapped: UntypedServiceImplementation = {}
    for (const [method, definition] of Object.entries(service)) {
      const key = method in implementation ? method : (definition as { originalName?: string }).originalName
      const handler = key === undefined ? undefined : implementation[key]
      if (typeof handler !== 'function') continue
      wrapped[method] = trackCall(handler, definition.responseStream)
    }
    server.addService(service, wrapped)
  }

  /** The handler, with its call counted from start to status or cancellation. */
  const trackCall = (handler: (...args: any[]) => void, streamsResponse: boolean) =>
    function tracked(this: unknown, call: any, callback?: (...args: any[]) => void): void {
      const record: CallRecord = { done: false }
      running.add(record)
      call.once('cancelled', () => finish(record, 'cancelled'))
      if (streamsResponse) {
        // A response stream has ended once its status is queued ('finish'), or it failed ('error', 'close').
        call.once('finish', () => finish(record, 'completed'))
        call.once('close', () => finish(record, call.cancelled ? 'cancelled' : 'completed'))
        handler.call(this, call)
        return
      }
      handler.call(this, call, (...args: any[]) => {
        finish(record, 'completed')
        callback!(...args)
      })
    }

  const drain = async (context: HookContext): Promise<string> => {
    draining = true
    counts.inFlightAtDrain = running.size
    health?.close()
    const closed = new Promise<Error | undefined>((resolve) => server.tryShutdown((error) => resolve(error)))
    const allDone = new Promise<void>((resolve) => {
      idle = resolve
      if (running.size === 0) resolve()
    })
    const left = context.timeLeftMs
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const cut = new Promise<'cut'>((resolve) => {
      timer = setTimeout(() => resolve('cut'), Math.max(0, left - forceMarginMs(left)))
      onAbort = () => resolve('cut')
      context.signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      const outcome = await Promise.race([Promise.all([closed, allDone]), cut])
      if (outcome !== 'cut') return describe(counts)
      for (const record of running) {
        record.done = true
        counts.forced++
      }
      running.clear()
      server.forceShutdown()
      throw new LastcallError(
        'LASTCALL_HOOK_FAILED',
        `lastcall: ${name}: ${describe(counts)}; forced the server down at its deadline (forceShutdown())`,
      )
    } finally {
      clearTimeout(timer)
      if (onAbort) context.signal.removeEventListener('abort', onAbort)
    }
  }
  shutdown.onShutdown(name, drain, { phase: o.phase ?? 'intake', timeoutMs: drainTimeoutMs })

  return {
    addService,
    get signal() {
      return shutdown.signal
    },
    get inFlight() {
      return running.size
    },
    counts,
    health,
  }
}

/** "3 calls in flight at the drain: 2 completed, 0 cancelled by the client, 1 forced" */
export function describe(counts: Readonly<GrpcCallCounts>): string {
  const n = counts.inFlightAtDrain
  return `${n} call${n === 1 ? '' : 's'} in flight at the drain: ${counts.completed} completed, ${counts.cancelled} cancelled by the client, ${counts.forced} forced`
}
