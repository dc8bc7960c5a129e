import type { Clock } from './clock.js'
import { LastcallOptionError } from './errors.js'
import { assertDuration, assertKnownKeys, assertName, assertStopSignals, durationAllowed, MAX_TIMER_MS, STOP_SIGNALS } from './validate.js'
import { isLogger, type Logger } from './logger.js'
import type { ProbeOptions } from './readiness/probes.js'
import { applyPlatformDefaults, describePlatform, detectPlatform, NO_FACTS, NO_PLATFORM, type DetectedPlatform, type PlatformFacts } from './platform.js'

/** When a cleanup phase begins, relative to the shutdown's own states. */
export type PhaseStart = 'shutdown' | 'drain' | 'cleanup'

/** A cleanup phase of the `phases` option: hooks registered with its name run together, phases in list order. */
export interface PhaseDefinition {
  /** Name hooks refer to with `onShutdown(name, fn, { phase })`. Letters, digits, `-` and `_`. */
  name: string
  /**
   * `'shutdown'`: starts with the readiness delay (service-discovery deregistration).
   * `'drain'`: starts with the HTTP drain and runs beside it (queue consumers stop taking work).
   * `'cleanup'`: starts after the HTTP drain and every earlier phase finished, in list order.
   * @default 'cleanup'
   */
  start?: PhaseStart
  /**
   * Bounds the whole phase: every hook in it must finish within this many
   * milliseconds of the phase's start, whatever its own `timeoutMs` (each
   * hook gets the earlier of the two, and sees it in its context's `deadline`).
   * @default undefined (each hook is bounded by its own timeout only)
   */
  timeoutMs?: number
}

/** A phase as the controller holds it: `start` filled in, `timeoutMs` only when given. */
export type ResolvedPhase = Required<Pick<PhaseDefinition, 'name' | 'start'>> & Pick<PhaseDefinition, 'timeoutMs'>

/**
 * The built-in phase order: stop intake, finish in-flight work, close stores,
 * flush telemetry. `docs/ARCHITECTURE.md` explains why.
 */
export const DEFAULT_PHASES: readonly ResolvedPhase[] = Object.freeze([
  { name: 'deregister', start: 'shutdown' },
  { name: 'intake', start: 'drain' },
  { name: 'default', start: 'cleanup' },
  { name: 'stores', start: 'cleanup' },
  { name: 'telemetry', start: 'cleanup' },
])

/** The options of `createShutdown()` and of every adapter's `gracefulShutdown()`; each has its default, and an invalid value throws a `LastcallOptionError` at creation. */
export interface ShutdownOptions {
  /**
   * How long the server keeps serving normally after shutdown starts, with
   * readiness already failing, so load balancers stop routing here.
   * `'auto'` follows the balancer: it ends when every recent readiness prober
   * has been answered 'not ready' and no application request arrived for a
   * quiet window derived from the traffic seen before (see
   * `docs/readiness-delay.md`), within `readinessDelayMinMs` and
   * `readinessDelayMaxMs`. A number is a fixed delay.
   * @default 'auto'; 0 in a cluster worker (Node's or PM2's, outside Kubernetes) and under a dev watcher (see `platform`)
   */
  readinessDelayMs?: number | 'auto'
  /**
   * Shortest automatic readiness delay. Under Kubernetes endpoints are removed
   * when the pod is deleted, not when readiness fails, and kube-proxy and
   * ingress controllers take seconds to follow: 5000 covers that propagation.
   * @default 5000 under Kubernetes (`KUBERNETES_SERVICE_HOST` set), else 0
   */
  readinessDelayMinMs?: number
  /**
   * Longest automatic readiness delay.
   * @default 10000, or a quarter of an explicit `timeoutMs` when that is less
   */
  readinessDelayMaxMs?: number
  /**
   * How long in-flight requests and open connections get to finish once
   * listeners stop accepting. What is left at the deadline is destroyed and counted.
   * @default 10000, or half of what an explicit or fitted `timeoutMs` leaves after the readiness delay; 1000 under a dev watcher
   */
  drainTimeoutMs?: number
  /**
   * Bound on the whole shutdown: readiness delay, drain and cleanup. When it
   * fires the process exits anyway and the report says what was still running.
   * Must be at least the longest readiness delay plus `drainTimeoutMs`.
   * @default 25000, or readiness delay (its maximum, for 'auto') + `drainTimeoutMs` + 5000 when that is larger;
   * when a grace period is known (`gracePeriodMs`, or the platform's) and 25000 does not fit, the grace period minus
   * its safety margin, `min(1000, grace / 4)` (Docker 9000, PM2 1200); 3000 under a dev watcher (see `platform`)
   */
  timeoutMs?: number
  /**
   * Signals that start a shutdown. `[]` turns signal handling off: the host calls `shutdown()`.
   * Only signals sent to stop a process are accepted: SIGTERM, SIGINT, SIGHUP,
   * SIGQUIT, SIGUSR1, SIGUSR2 (nodemon restarts with it), SIGBREAK. A second
   * signal during the shutdown exits at once with 128 + its number; the same
   * signal again within 100 ms counts as one (see `docs/core.md`).
   * @default ['SIGTERM', 'SIGINT'] (plus 'SIGBREAK' on Windows, and nodemon's restart signal, 'SIGUSR2', under nodemon)
   */
  signals?: readonly string[]
  /**
   * What happens when the shutdown ends. `true` exits the process with the
   * report's exit code; `false` leaves the process alone; a function is called with the code.
   * @default true
   */
  exit?: boolean | ((code: number) => void)
  /**
   * Where lifecycle (info) and problems (warn, error) are logged. Accepts
   * pino, any logger with `info`/`warn`/`error`, or `console`. `false` silences it.
   * @default console
   */
  logger?: Logger | false
  /**
   * During the drain, a keep-alive connection is closed as idle only after it
   * has been silent this long, so a request the client already sent on it is
   * not cut off. Connections that never sent a complete request head are
   * closed after the same linger. Above `drainTimeoutMs` it cannot work (every
   * idle connection is then cut at the deadline and the shutdown exits 1): the
   * controller warns at creation.
   * @default 250, or half of `drainTimeoutMs` when that is less (a drain shorter than 500 ms, set or fitted to the platform)
   */
  idleLingerMs?: number
  /**
   * Timeout of a cleanup hook registered without its own `timeoutMs`.
   * @default 5000
   */
  hookTimeoutMs?: number
  /**
   * When set, attached servers get this `keepAliveTimeout` and a
   * `headersTimeout` 1 s above it. Behind a load balancer it must be longer
   * than the balancer's idle timeout (60 s on AWS ALB), or the balancer reuses
   * a connection the server is closing and answers 502.
   * @default undefined (the server's own setting is kept)
   */
  keepAliveTimeoutMs?: number
  /**
   * The ordered cleanup phases. Replaces the built-in list when given.
   * @default deregister (shutdown), intake (drain), default, stores, telemetry (cleanup)
   */
  phases?: readonly PhaseDefinition[]
  /**
   * Readiness stays failing until `ready()` is called, for services that must
   * warm up after listening.
   * @default false (ready once every attached server listens and startup checks pass)
   */
  manualReady?: boolean
  /**
   * What happens to a request that arrives on an existing connection while
   * draining. `'serve'`: it is served, with `Connection: close`, so nothing a
   * client already sent is lost. `'reject'`: it gets 503 with `Retry-After`.
   * Once cleanup has begun, requests are always rejected: the resources they
   * need may be gone.
   * @default 'serve'
   */
  whileDraining?: 'serve' | 'reject'
  /**
   * From the moment readiness fails, keep-alive HTTP/1.1 responses (not
   * probes) carry `Keep-Alive: timeout=1`, which Node's `http.Agent` and
   * undici (`fetch`) read as "do not reuse this socket": they close it after
   * the response, hold no idle socket for the drain to close under them, and
   * open a new connection for their next request. Worth it when something
   * sends those new connections to another instance (a Kubernetes Service, DNS
   * over several instances); without that, clients keep connecting here until
   * the listener closes, and a connection still in its accept queue then is
   * reset (see docs/long-lived.md for the measured trade-off). Balancers'
   * pools (HAProxy, nginx) ignore the header.
   * @default false
   */
  keepAliveHint?: boolean
  /**
   * A deadline for every request, in normal operation and while draining.
   * When it passes, the request's signal aborts and the client gets 503 if no
   * response head was sent yet, or its connection is destroyed otherwise.
   * @default undefined (no per-request deadline)
   */
  requestTimeoutMs?: number
  /**
   * How long a WebSocket client of a `ws` server handed to
   * `attachWebSockets()` gets to answer the close frame (code 1001) sent when
   * the drain starts, before it is terminated and counted as forced. The
   * drain deadline still applies when it comes first.
   * @default 1000
   */
  webSocketCloseTimeoutMs?: number
  /**
   * Health, readiness and startup endpoints. `false` turns them all off.
   * @default see `ProbeOptions`
   */
  probes?: ProbeOptions | false
  /**
   * Timers and time source. For tests.
   * @default the system clock
   */
  clock?: Clock
  /**
   * The time the platform gives between its stop signal and SIGKILL
   * (Kubernetes `terminationGracePeriodSeconds`, Docker `--stop-timeout`,
   * systemd `TimeoutStopSec`, PM2 `kill_timeout`), which cannot be seen from
   * inside the process. When `timeoutMs` is left out and 25000 does not fit,
   * `timeoutMs` becomes the grace period minus a safety margin of
   * `min(1000, gracePeriodMs / 4)` (`graceSafetyMarginMs()`), and the delay and
   * the drain shrink with it. An explicit `timeoutMs` is kept: the controller
   * warns at creation when it plus the margin does not fit.
   * @default the `LASTCALL_GRACE_PERIOD_MS` environment variable when set, else the grace period of the platform recognised (see `platform`), else undefined (no check)
   */
  gracePeriodMs?: number
  /**
   * `'shutdown'`: on `uncaughtException` or `unhandledRejection`, log the
   * error, fail readiness, drain what can be drained (bounded by `timeoutMs`)
   * and exit the process non-zero, whatever `exit` says, since a process
   * after an uncaught error is in an unknown state. `false` installs nothing:
   * Node's own behaviour (print and exit at once) applies.
   * @default false
   */
  onCrash?: 'shutdown' | false
  /**
   * `'auto'`: recognise the platform (Kubernetes, a container, PM2, a
   * `node:cluster` worker, systemd, nodemon, `node --watch`) and use its
   * defaults where an option is left out: a `timeoutMs` that fits its grace
   * period, no readiness delay in a cluster worker or a dev restart, the
   * platform's stop signal. The decision is logged at creation;
   * `docs/platforms.md` has the table. `false`: lastcall's plain defaults.
   * @default 'auto'
   */
  platform?: 'auto' | false
  /**
   * Environment variables consulted (`KUBERNETES_SERVICE_HOST`, `pm_id`,
   * `LASTCALL_GRACE_PERIOD_MS`, and the other platform traces of `docs/platforms.md`). For tests.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>
}

/** The options as the controller holds them (`controller.options`): every default applied, every value validated. */
export interface ResolvedOptions {
  /** `readinessDelayMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.readinessDelayMs}. */
  readinessDelayMs: number | 'auto'
  /** `readinessDelayMinMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.readinessDelayMinMs}. */
  readinessDelayMinMs: number
  /** `readinessDelayMaxMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.readinessDelayMaxMs}. */
  readinessDelayMaxMs: number
  /** Whether `KUBERNETES_SERVICE_HOST` is set. */
  kubernetes: boolean
  /** `drainTimeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.drainTimeoutMs}. */
  drainTimeoutMs: number
  /** `timeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.timeoutMs}. */
  timeoutMs: number
  /** `signals` after defaults, platform defaults and validation: see {@link ShutdownOptions.signals}. */
  signals: readonly NodeJS.Signals[]
  /** `exit` after defaults, platform defaults and validation: see {@link ShutdownOptions.exit}. */
  exit: boolean | ((code: number) => void)
  /** `logger` after defaults, platform defaults and validation: see {@link ShutdownOptions.logger}. */
  logger: Logger | false | undefined
  /** `idleLingerMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.idleLingerMs}. */
  idleLingerMs: number
  /** `hookTimeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.hookTimeoutMs}. */
  hookTimeoutMs: number
  /** `keepAliveTimeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.keepAliveTimeoutMs}. */
  keepAliveTimeoutMs: number | undefined
  /** `phases` after defaults, platform defaults and validation: see {@link ShutdownOptions.phases}. */
  phases: readonly ResolvedPhase[]
  /** `manualReady` after defaults, platform defaults and validation: see {@link ShutdownOptions.manualReady}. */
  manualReady: boolean
  /** `whileDraining` after defaults, platform defaults and validation: see {@link ShutdownOptions.whileDraining}. */
  whileDraining: 'serve' | 'reject'
  /** `keepAliveHint` after defaults, platform defaults and validation: see {@link ShutdownOptions.keepAliveHint}. */
  keepAliveHint: boolean
  /** `requestTimeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.requestTimeoutMs}. */
  requestTimeoutMs: number | undefined
  /** `webSocketCloseTimeoutMs` after defaults, platform defaults and validation: see {@link ShutdownOptions.webSocketCloseTimeoutMs}. */
  webSocketCloseTimeoutMs: number
  /** `probes` after defaults, platform defaults and validation: see {@link ShutdownOptions.probes}. */
  probes: ProbeOptions | false
  /** `clock` after defaults, platform defaults and validation: see {@link ShutdownOptions.clock}. */
  clock: Clock | undefined
  /** From the option or `LASTCALL_GRACE_PERIOD_MS`; undefined when neither is set. */
  gracePeriodMs: number | undefined
  /** `onCrash` after defaults, platform defaults and validation: see {@link ShutdownOptions.onCrash}. */
  onCrash: 'shutdown' | false
  /** `env` after defaults, platform defaults and validation: see {@link ShutdownOptions.env}. */
  env: Readonly<Record<string, string | undefined>>
  /** What `platform: 'auto'` recognised (`name: 'none'` when nothing, or with `platform: false`). */
  platform: DetectedPlatform
  /** The line logged at creation: what was recognised, from what, and what its defaults changed. Undefined when nothing was recognised. */
  platformSummary: string | undefined
}

/**
 * How one option is checked: what is allowed (said in the error), the test a
 * value must pass, and its default when that is a constant. A default that
 * derives from other options (`drainTimeoutMs`, `timeoutMs`…) is left out here
 * and computed by `resolveOptions`; the interface's TSDoc says both.
 */
export interface OptionRule<T> {
  /** What is allowed, as `LastcallOptionError` says it: "must be <allowed>". */
  allowed: string
  /** Whether a given value (not undefined) is allowed. */
  accepts: (value: unknown) => boolean
  /** For a value with parts (a list): checks each part and throws naming it, once `accepts` passed. */
  parts?: (value: never, option: string) => void
  default?: T
}

type OptionRules = { readonly [K in keyof ShutdownOptions]-?: OptionRule<Exclude<ShutdownOptions[K], undefined>> }

const isDuration = (min: 0 | 1) => (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= MAX_TIMER_MS
const duration = (min: 0 | 1 = 0): { allowed: string; accepts: (v: unknown) => boolean } => ({ allowed: durationAllowed(min), accepts: isDuration(min) })
const oneOf = (...values: readonly unknown[]) => (v: unknown): boolean => values.includes(v)
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Every option, in the order error messages list them: the one place its
 * name, its check and its constant default are written. The compiler checks
 * the keys against `ShutdownOptions` both ways (a key missing here, or one
 * that is not an option, fails to build), so the interface, whose TSDoc
 * documents each option and generates the READMEs, stays the one list.
 * Checks between options (a fixed delay with bounds, `timeoutMs` against the
 * delay and the drain) are in `resolveOptions`.
 */
export const OPTION_RULES = {
  readinessDelayMs: { allowed: `'auto' or ${durationAllowed(0)}`, accepts: (v) => v === 'auto' || isDuration(0)(v), default: 'auto' },
  readinessDelayMinMs: duration(),
  readinessDelayMaxMs: duration(),
  drainTimeoutMs: duration(),
  timeoutMs: duration(1),
  signals: { allowed: `an array of signals that stop a process (${STOP_SIGNALS.join(', ')}), or [] for none`, accepts: Array.isArray, parts: (v: unknown[], option) => void assertStopSignals(option, v) },
  exit: { allowed: 'true, false or a function (code) => void', accepts: (v) => typeof v === 'boolean' || typeof v === 'function', default: true },
  logger: { allowed: 'false or an object with info, warn and error methods (pino, console)', accepts: (v) => v === false || isLogger(v) },
  idleLingerMs: duration(),
  hookTimeoutMs: { ...duration(1), default: 5_000 },
  keepAliveTimeoutMs: duration(1),
  phases: { allowed: 'a non-empty array of { name, start?, timeoutMs? }', accepts: (v) => Array.isArray(v) && v.length > 0, parts: (v: unknown[]) => void checkPhases(v) },
  manualReady: { allowed: 'true or false', accepts: oneOf(true, false), default: false },
  whileDraining: { allowed: '"serve" or "reject"', accepts: oneOf('serve', 'reject'), default: 'serve' },
  keepAliveHint: { allowed: 'true or false', accepts: oneOf(true, false), default: false },
  requestTimeoutMs: duration(1),
  probes: { allowed: 'false or an object of probe options', accepts: (v) => v === false || isObject(v), default: Object.freeze({}) },
  clock: {
    allowed: 'an object with now, setTimeout and clearTimeout',
    accepts: (v) => isObject(v) && typeof v.now === 'function' && typeof v.setTimeout === 'function' && typeof v.clearTimeout === 'function',
  },
  env: { allowed: 'an object of environment variables', accepts: (v) => typeof v === 'object' && v !== null },
  webSocketCloseTimeoutMs: { ...duration(), default: 1_000 },
  gracePeriodMs: duration(1),
  onCrash: { allowed: '"shutdown" or false', accepts: oneOf('shutdown', false), default: false },
  platform: { allowed: "'auto' or false", accepts: oneOf('auto', false), default: 'auto' },
} satisfies OptionRules

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(OPTION_RULES))

/** Options `ResolvedOptions` has no field for: none, or this fails to build (every option is resolved). */
type UnresolvedOptions = Exclude<keyof ShutdownOptions, keyof ResolvedOptions>
const EVERY_OPTION_RESOLVED: [UnresolvedOptions] extends [never] ? true : UnresolvedOptions = true

/** Checks every option given against its rule; throws `LastcallOptionError` naming the option, the value and what is allowed. */
function checkOptions(input: object): void {
  assertKnownKeys('', input, KNOWN_KEYS)
  const given = input as Record<string, unknown>
  for (const [key, rule] of Object.entries(OPTION_RULES) as Array<[string, OptionRule<unknown>]>) {
    const value = given[key]
    if (value === undefined) continue
    if (!rule.accepts(value)) throw new LastcallOptionError(key, value, rule.allowed)
    rule.parts?.(value as never, key)
  }
}

/**
 * Validates options and fills in defaults that derive from each other, so
 * that setting any single option alone is valid. Throws `LastcallOptionError`.
 */
export function resolveOptions(input: ShutdownOptions | undefined, platform: string, processEnv: Readonly<Record<string, string | undefined>>, facts: PlatformFacts = NO_FACTS): ResolvedOptions {
  if (input === undefined) input = {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new LastcallOptionError('options', input, 'an object or undefined')
  }
  checkOptions(input)
  void EVERY_OPTION_RESOLVED
  let o = input

  for (const key of ['readinessDelayMinMs', 'readinessDelayMaxMs'] as const) {
    if (o[key] !== undefined && typeof o.readinessDelayMs === 'number') {
      throw new LastcallOptionError(key, o[key], `left out when readinessDelayMs is a fixed number (${o.readinessDelayMs}); it bounds only readinessDelayMs: 'auto'`)
    }
  }
  const env = o.env ?? processEnv
  let gracePeriodMs = o.gracePeriodMs
  const graceFromEnv = env.LASTCALL_GRACE_PERIOD_MS?.trim()
  if (gracePeriodMs === undefined && graceFromEnv !== undefined && graceFromEnv !== '') {
    const parsed = /^\d+$/.test(graceFromEnv) ? Number(graceFromEnv) : graceFromEnv
    assertDuration('env.LASTCALL_GRACE_PERIOD_MS', parsed, { allowZero: false })
    gracePeriodMs = parsed
  }

  const detected = (o.platform ?? OPTION_RULES.platform.default) === false ? NO_PLATFORM : detectPlatform(env, facts)
  const fitted = applyPlatformDefaults(o, detected, { givenGraceMs: gracePeriodMs, defaultSignals: resolveSignals(undefined, platform) })
  o = fitted.options
  const platformSummary = describePlatform(detected, gracePeriodMs, fitted.reasons)
  if (gracePeriodMs === undefined && detected.grace !== undefined) gracePeriodMs = detected.grace.ms

  const signals = resolveSignals(o.signals, platform)
  const phases = resolvePhases(o.phases)

  const kubernetes = Boolean(env.KUBERNETES_SERVICE_HOST)
  const auto = (o.readinessDelayMs ?? OPTION_RULES.readinessDelayMs.default) === 'auto'
  const quarter = o.timeoutMs !== undefined ? Math.floor(o.timeoutMs / 4) : Infinity
  const readinessDelayMaxMs = o.readinessDelayMaxMs ?? Math.min(10_000, quarter)
  const readinessDelayMinMs = o.readinessDelayMinMs ?? Math.min(kubernetes ? 5000 : 0, readinessDelayMaxMs)
  if (readinessDelayMinMs > readinessDelayMaxMs) {
    throw new LastcallOptionError('readinessDelayMinMs', readinessDelayMinMs, `at most readinessDelayMaxMs (${readinessDelayMaxMs})`)
  }
  const readinessDelayMs: number | 'auto' = auto ? 'auto' : (o.readinessDelayMs as number)
  /** The longest the delay can take, which the overall bound must contain. */
  const delayBound = readinessDelayMs === 'auto' ? readinessDelayMaxMs : readinessDelayMs
  const drainTimeoutMs = o.drainTimeoutMs ?? (o.timeoutMs !== undefined ? Math.min(10_000, Math.max(0, Math.floor((o.timeoutMs - delayBound) / 2))) : 10_000)
  const timeoutMs = o.timeoutMs ?? Math.max(25_000, delayBound + drainTimeoutMs + 5_000)
  if (timeoutMs < delayBound + drainTimeoutMs) {
    const what = readinessDelayMs === 'auto' ? 'readinessDelayMaxMs' : 'readinessDelayMs'
    throw new LastcallOptionError(
      'timeoutMs',
      timeoutMs,
      `at least ${what} + drainTimeoutMs (${delayBound} + ${drainTimeoutMs} = ${delayBound + drainTimeoutMs}), since it bounds both`,
    )
  }

  return {
    readinessDelayMs,
    readinessDelayMinMs,
    readinessDelayMaxMs,
    kubernetes,
    drainTimeoutMs,
    timeoutMs,
    signals,
    exit: o.exit ?? OPTION_RULES.exit.default,
    logger: o.logger,
    // Derived so that a short drain alone stays valid: idle connections still close by themselves before its deadline.
    idleLingerMs: o.idleLingerMs ?? Math.min(250, Math.floor(drainTimeoutMs / 2)),
    hookTimeoutMs: o.hookTimeoutMs ?? OPTION_RULES.hookTimeoutMs.default,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    phases,
    manualReady: o.manualReady ?? OPTION_RULES.manualReady.default,
    whileDraining: o.whileDraining ?? OPTION_RULES.whileDraining.default,
    keepAliveHint: o.keepAliveHint ?? OPTION_RULES.keepAliveHint.default,
    requestTimeoutMs: o.requestTimeoutMs,
    webSocketCloseTimeoutMs: o.webSocketCloseTimeoutMs ?? OPTION_RULES.webSocketCloseTimeoutMs.default,
    probes: o.probes ?? OPTION_RULES.probes.default,
    clock: o.clock,
    gracePeriodMs,
    onCrash: o.onCrash ?? OPTION_RULES.onCrash.default,
    env,
    platform: detected,
    platformSummary,
  }
}

/** The signals given (checked by their rule), or the platform's defaults. */
function resolveSignals(value: readonly string[] | undefined, platform: string): readonly NodeJS.Signals[] {
  if (value === undefined) return platform === 'win32' ? ['SIGTERM', 'SIGINT', 'SIGBREAK'] : ['SIGTERM', 'SIGINT']
  return value as readonly NodeJS.Signals[]
}

/** The phases given (checked by their rule) with `start` filled in, or the built-in ones. */
function resolvePhases(value: readonly PhaseDefinition[] | undefined): readonly ResolvedPhase[] {
  if (value === undefined) return DEFAULT_PHASES
  return value.map((p) => (p.timeoutMs === undefined ? { name: p.name, start: p.start ?? 'cleanup' } : { name: p.name, start: p.start ?? 'cleanup', timeoutMs: p.timeoutMs }))
}

/** Each phase of the `phases` option: an object with a new name, a known start no earlier than the one before, a positive timeout. */
function checkPhases(value: readonly unknown[]): void {
  const seen = new Set<string>()
  let last: PhaseStart = 'shutdown'
  const order: Record<PhaseStart, number> = { shutdown: 0, drain: 1, cleanup: 2 }
  value.forEach((phase: unknown, i) => {
    if (typeof phase !== 'object' || phase === null) throw new LastcallOptionError(`phases[${i}]`, phase, 'an object { name, start?, timeoutMs? }')
    const p = phase as PhaseDefinition
    assertKnownKeys(`phases[${i}]`, p, new Set(['name', 'start', 'timeoutMs']))
    assertName(`phases[${i}].name`, p.name)
    if (seen.has(p.name)) throw new LastcallOptionError(`phases[${i}].name`, p.name, 'a phase name not already used')
    seen.add(p.name)
    const start = p.start ?? 'cleanup'
    if (!(start in order)) throw new LastcallOptionError(`phases[${i}].start`, start, '"shutdown", "drain" or "cleanup"')
    if (order[start] < order[last]) {
      throw new LastcallOptionError(`phases[${i}].start`, start, `"${last}" or later, since phases are listed in the order they start`)
    }
    last = start
    if (p.timeoutMs !== undefined) assertDuration(`phases[${i}].timeoutMs`, p.timeoutMs, { allowZero: false })
  })
}
