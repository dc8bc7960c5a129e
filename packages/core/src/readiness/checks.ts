import type { Clock } from '../clock.js'
import { CheckTimeoutError, LastcallError, LastcallOptionError, describe } from '../errors.js'
import type { Log } from '../logger.js'
import { assertDuration, assertKnownKeys } from '../validate.js'

/** Which endpoint a check belongs to. */
export type CheckKind = 'readiness' | 'liveness' | 'startup'

/**
 * A health check. It passes when it returns (or resolves to) anything but
 * `false`; it fails when it returns `false`, throws, rejects, or does not
 * settle within its `timeoutMs`. `signal` aborts at the timeout, so a check
 * built on `fetch` or a driver that accepts a signal can stop its work.
 */
export type HealthCheck = (context: { signal: AbortSignal }) => unknown

export interface CheckOptions {
  /**
   * The endpoint the check belongs to: readiness (`/readyz`), liveness
   * (`/healthz`, `/livez`) or startup (`/startupz`, and it gates the first ready).
   * @default 'readiness'
   */
  kind?: CheckKind
  /**
   * How long the check may take; past it, it fails with `CheckTimeoutError`.
   * @default `probes.checkTimeoutMs` (1000)
   */
  timeoutMs?: number
  /**
   * How long a result is reused before the check runs again. Probes arriving
   * while a run is in flight always share it, whatever this is.
   * @default `probes.checkCacheMs` (1000)
   */
  cacheMs?: number
  /**
   * When `false`, a failure reports `warn` and leaves the endpoint at 200.
   * @default true
   */
  critical?: boolean
}

/** The outcome of one run of a check. */
export interface CheckResult {
  ok: boolean
  /** Why it failed: the thrown value, `CheckTimeoutError`, or a `LastcallError` for `false`. */
  error?: unknown
}

const CHECK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const KINDS: ReadonlySet<string> = new Set(['readiness', 'liveness', 'startup'])
const OPTION_KEYS: ReadonlySet<string> = new Set(['kind', 'timeoutMs', 'cacheMs', 'critical'])

/** Names of the built-in checks, which user checks cannot take. */
export const BUILT_IN_CHECKS: ReadonlySet<string> = new Set(['ping', 'started', 'shutdown'])

/** Validates `addCheck` arguments; throws `LastcallOptionError` (a `TypeError`). */
export function validateCheck(name: unknown, fn: unknown, options: unknown): asserts options is CheckOptions | undefined {
  if (typeof name !== 'string' || !CHECK_NAME.test(name)) {
    const hint = typeof name === 'string' && /[\s/]/.test(name) ? ' (spaces and slashes are not allowed: the name is part of a URL path)' : ''
    throw new LastcallOptionError('addCheck(name)', name, `a check name of 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit${hint}`)
  }
  if (BUILT_IN_CHECKS.has(name)) {
    throw new LastcallOptionError('addCheck(name)', name, `a name other than the built-in checks (${[...BUILT_IN_CHECKS].join(', ')})`)
  }
  if (typeof fn !== 'function') throw new LastcallOptionError(`addCheck("${name}", fn)`, fn, 'a function that returns, throws, or returns a promise')
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LastcallOptionError(`addCheck("${name}", options)`, options, 'an object { kind?, timeoutMs?, cacheMs?, critical? } or undefined')
  }
  const where = `checks.${name}`
  assertKnownKeys(where, options, OPTION_KEYS)
  const o = options as Record<string, unknown>
  if (o.kind !== undefined && (typeof o.kind !== 'string' || !KINDS.has(o.kind))) {
    throw new LastcallOptionError(`${where}.kind`, o.kind, '"readiness", "liveness" or "startup"')
  }
  if (o.timeoutMs !== undefined) assertDuration(`${where}.timeoutMs`, o.timeoutMs, { allowZero: false })
  if (o.cacheMs !== undefined) assertDuration(`${where}.cacheMs`, o.cacheMs)
  if (o.critical !== undefined && typeof o.critical !== 'boolean') throw new LastcallOptionError(`${where}.critical`, o.critical, 'a boolean')
}

/**
 * One registered check: runs it with a timeout, caches the result, and lets
 * concurrent callers share one run. A call that is still running (one that
 * ignored its timeout) is never started a second time: later runs wait on the
 * same call, so a hung database check costs one connection, not one per probe.
 */
export class Check {
  readonly name: string
  readonly kind: CheckKind
  readonly critical: boolean
  readonly timeoutMs: number
  readonly cacheMs: number
  readonly #fn: HealthCheck
  readonly #clock: Clock
  readonly #log: Log
  #cached: { result: CheckResult; at: number } | undefined
  #run: Promise<CheckResult> | undefined
  /** The user's call, while it has not settled (it may outlive a timed-out run). */
  #call: Promise<unknown> | undefined
  #failing = false

  constructor(name: string, fn: HealthCheck, options: Required<CheckOptions>, clock: Clock, log: Log) {
    this.name = name
    this.kind = options.kind
    this.critical = options.critical
    this.timeoutMs = options.timeoutMs
    this.cacheMs = options.cacheMs
    this.#fn = fn
    this.#clock = clock
    this.#log = log
  }

  /** The cached result if fresh, the in-flight run if any, or a new run. */
  run(): Promise<CheckResult> {
    if (this.#run) return this.#run
    const cached = this.#cached
    if (cached && this.#clock.now() - cached.at < this.cacheMs) return Promise.resolve(cached.result)
    const run = this.#execute()
    this.#run = run
    return run
  }

  async #execute(): Promise<CheckResult> {
    const timeout = new AbortController()
    const call = this.#call ?? this.#start(timeout.signal)
    let timer: unknown
    const timedOut = new Promise<CheckResult>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        const error = new CheckTimeoutError(this.name, this.timeoutMs)
        timeout.abort(error)
        resolve({ ok: false, error })
      }, this.timeoutMs)
    })
    const settled = call.then(
      (value): CheckResult => (value === false ? { ok: false, error: new LastcallError('LASTCALL_CHECK_FAILED', `lastcall: check "${this.name}" returned false`) } : { ok: true }),
      (error: unknown): CheckResult => ({ ok: false, error }),
    )
    const result = await Promise.race([settled, timedOut])
    this.#clock.clearTimeout(timer)
    this.#cached = { result, at: this.#clock.now() }
    this.#run = undefined
    this.#report(result)
    return result
  }

  #start(signal: AbortSignal): Promise<unknown> {
    let call: Promise<unknown>
    try {
      call = Promise.resolve(this.#fn({ signal }))
    } catch (error) {
      call = Promise.reject(error)
    }
    this.#call = call
    const clear = (): void => {
      if (this.#call === call) this.#call = undefined
    }
    call.then(clear, clear)
    return call
  }

  #report(result: CheckResult): void {
    const fields = { check: this.name, kind: this.kind, critical: this.critical }
    if (!result.ok) {
      this.#failing = true
      const err = result.error
      const message = err instanceof Error ? err.message : describe(err)
      this.#log('warn', `${this.kind} check "${this.name}" failed: ${message}`, { ...fields, err })
    } else if (this.#failing) {
      this.#failing = false
      this.#log('info', `${this.kind} check "${this.name}" passes again`, fields)
    }
  }
}

/**
 * A failure's reason in one short line, for responses with `exposeDetails`.
 * Control characters become spaces so a message cannot forge extra lines.
 */
export function failureReason(error: unknown): string {
  let text: string
  if (error instanceof CheckTimeoutError) text = error.message.replace(/^lastcall: check "[^"]*" /, '')
  else if (error instanceof LastcallError && error.code === 'LASTCALL_CHECK_FAILED') text = 'returned false'
  else if (error instanceof Error) text = error.message || error.name
  else text = typeof error === 'string' ? error : describe(error)
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return text.length > 200 ? `${text.slice(0, 197)}...` : text || 'failed'
}
