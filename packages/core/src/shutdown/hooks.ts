import type { Clock } from '../clock.js'
import { HookTimeoutError, LastcallError, LastcallOptionError } from '../errors.js'
import type { Log } from '../logger.js'
import type { ResolvedPhase } from '../options.js'
import { assertDuration, assertKnownKeys, assertName } from '../validate.js'
import type { Trigger } from '../process/signals.js'

export interface HookContext {
  /** Aborts when the hook's timeout or the shutdown's `timeoutMs` fires: stop waiting and return. */
  signal: AbortSignal
  /** What started the shutdown. */
  trigger: Trigger
  /**
   * When the hook's time is up, on the controller's clock (`performance.now()`
   * unless a `clock` was injected): the earliest of its own timeout, its
   * phase's `timeoutMs` and the shutdown's `timeoutMs`. Its `signal` aborts then.
   */
  readonly deadline: number
  /**
   * Milliseconds left until `deadline`, read anew on each access (never below 0):
   * decide how much work to finish, or how long a graceful close may wait.
   */
  readonly timeLeftMs: number
}

export type ShutdownHook = (context: HookContext) => unknown

export interface HookOptions {
  /**
   * The phase the hook runs in.
   * @default 'default' (after the HTTP drain)
   */
  phase?: string
  /**
   * How long the hook may run before it is reported as timed out and its signal aborts.
   * @default the controller's `hookTimeoutMs` (5000)
   */
  timeoutMs?: number
}

export type HookOutcome = 'ok' | 'error' | 'timeout' | 'pending'

export interface HookResult {
  name: string
  phase: string
  /** Milliseconds from the start of the shutdown. */
  startMs: number
  /** How long it ran; for a hook still `pending` when the shutdown gave up, how long it had run by then. */
  durationMs: number
  outcome: HookOutcome
  /** The error's message, for `error` and `timeout`. */
  error?: string
  /** What the hook returned when it returned a non-empty string: its line in the report (what it closed, counts). */
  detail?: string
}

interface HookEntry {
  name: string
  fn: ShutdownHook
  phase: string
  timeoutMs: number
  result: HookResult | undefined
}

const HOOK_OPTION_KEYS = new Set(['phase', 'timeoutMs'])

/**
 * Cleanup hooks grouped in ordered phases. Hooks of one phase run in
 * parallel, each bounded by its timeout; one that throws or hangs is
 * reported and the others still run.
 */
export class HookRunner {
  readonly #phases: readonly ResolvedPhase[]
  readonly #hooks: HookEntry[] = []
  readonly #started = new Set<string>()
  readonly #clock: Clock
  readonly #log: Log
  readonly #defaultTimeoutMs: number
  /** Aborted when the whole shutdown times out: every running hook gives up. */
  readonly #abandon = new AbortController()
  #origin = 0
  /** When the whole shutdown gives up (`timeoutMs` after its start), on the clock. */
  #overallDeadline = Infinity
  /** When each started phase gives up, for phases with a `timeoutMs` of their own. */
  readonly #phaseDeadlines = new Map<string, number>()

  constructor(phases: readonly ResolvedPhase[], defaultTimeoutMs: number, clock: Clock, log: Log) {
    this.#phases = phases
    this.#defaultTimeoutMs = defaultTimeoutMs
    this.#clock = clock
    this.#log = log
  }

  get phases(): readonly ResolvedPhase[] {
    return this.#phases
  }

  add(name: string, fn: ShutdownHook, options: HookOptions = {}): () => void {
    assertName('onShutdown(name)', name)
    if (typeof fn !== 'function') throw new LastcallOptionError('onShutdown(fn)', fn, 'a function')
    if (typeof options !== 'object' || options === null) throw new LastcallOptionError('onShutdown(options)', options, 'an object { phase?, timeoutMs? }')
    assertKnownKeys('onShutdown(options)', options, HOOK_OPTION_KEYS)
    const phase = options.phase ?? 'default'
    if (!this.#phases.some((p) => p.name === phase)) {
      throw new LastcallOptionError('onShutdown(options).phase', phase, `one of the phases: ${this.#phases.map((p) => `"${p.name}"`).join(', ')}`)
    }
    if (options.timeoutMs !== undefined) assertDuration('onShutdown(options).timeoutMs', options.timeoutMs, { allowZero: false })
    if (this.#hooks.some((h) => h.name === name)) throw new LastcallOptionError('onShutdown(name)', name, 'a hook name not already registered')
    if (this.#started.has(phase)) {
      throw new LastcallError('LASTCALL_INVALID_STATE', `lastcall: cannot add hook "${name}": phase "${phase}" has already started`)
    }
    const entry: HookEntry = { name, fn, phase, timeoutMs: options.timeoutMs ?? this.#defaultTimeoutMs, result: undefined }
    this.#hooks.push(entry)
    return () => {
      const i = this.#hooks.indexOf(entry)
      if (i !== -1 && entry.result === undefined) this.#hooks.splice(i, 1)
    }
  }

  /**
   * Sets the time every result's `startMs` is measured from and, when given,
   * the shutdown's `timeoutMs`, which bounds every hook's `deadline`.
   */
  begin(origin: number, timeoutMs?: number): void {
    this.#origin = origin
    if (timeoutMs !== undefined) this.#overallDeadline = origin + timeoutMs
  }

  /** The phases that begin with `start`, run one after another. */
  async runFrom(start: ResolvedPhase['start'], trigger: Trigger): Promise<void> {
    for (const phase of this.#phases) {
      if (phase.start === start) await this.runPhase(phase.name, trigger)
    }
  }

  async runPhase(phase: string, trigger: Trigger): Promise<void> {
    // Once the shutdown is abandoned (its timeoutMs, a second signal) nothing new starts: the process is about to exit.
    if (this.#abandon.signal.aborted) return
    this.#started.add(phase)
    const limit = this.#phases.find((p) => p.name === phase)?.timeoutMs
    if (limit !== undefined) this.#phaseDeadlines.set(phase, this.#clock.now() + limit)
    const hooks = this.#hooks.filter((h) => h.phase === phase)
    if (hooks.length === 0) return
    this.#log('info', `cleanup phase ${phase}`, { phase, hooks: hooks.map((h) => h.name) })
    await Promise.all(hooks.map((h) => this.#run(h, trigger)))
  }

  /** Every hook's result so far; hooks still running are `pending`. */
  results(): HookResult[] {
    const now = this.#clock.now()
    return this.#hooks.flatMap((h) => {
      if (h.result) return [h.result]
      if (!this.#started.has(h.phase)) return []
      return [{ name: h.name, phase: h.phase, startMs: 0, durationMs: Math.round(now - this.#origin), outcome: 'pending' as const }]
    })
  }

  /** Hooks that started and have not finished. */
  pending(): string[] {
    return this.#hooks.filter((h) => this.#started.has(h.phase) && h.result?.outcome === 'pending').map((h) => h.name)
  }

  /**
   * The whole shutdown gives up (its `timeoutMs`, or a second signal, `cut`):
   * every running hook's signal aborts (`LASTCALL_SHUTDOWN_TIMEOUT`, or
   * `LASTCALL_SECOND_SIGNAL`), and phases not started yet never start.
   * A running hook stays `pending` (nothing can stop it) with the time it ran
   * until now as its duration, which the report is built with at once.
   */
  abandon(cut?: { signal: NodeJS.Signals }): void {
    if (this.#abandon.signal.aborted) return
    const now = Math.round(this.#clock.now() - this.#origin)
    for (const h of this.#hooks) if (h.result?.outcome === 'pending') h.result.durationMs = now - h.result.startMs
    // What the running hooks' signals say: the second signal that cut the shutdown short, or its timeoutMs.
    this.#abandon.abort(
      cut === undefined
        ? new LastcallError('LASTCALL_SHUTDOWN_TIMEOUT', 'lastcall: the shutdown timed out')
        : new LastcallError('LASTCALL_SECOND_SIGNAL', `lastcall: a second signal (${cut.signal}) ended the shutdown`),
    )
  }

  async #run(hook: HookEntry, trigger: Trigger): Promise<void> {
    const started = this.#clock.now()
    const controller = new AbortController()
    const onAbandon = (): void => controller.abort(this.#abandon.signal.reason)
    this.#abandon.signal.addEventListener('abort', onAbandon, { once: true })
    const result: HookResult = { name: hook.name, phase: hook.phase, startMs: Math.round(started - this.#origin), durationMs: 0, outcome: 'pending' }
    hook.result = result
    // Its own timeout or its phase's, whichever comes first; the shutdown's timeoutMs aborts it through #abandon.
    const timeoutMs = Math.max(0, Math.min(hook.timeoutMs, (this.#phaseDeadlines.get(hook.phase) ?? Infinity) - started))
    const deadline = Math.min(started + timeoutMs, this.#overallDeadline)
    const clock = this.#clock
    const context: HookContext = {
      signal: controller.signal,
      trigger,
      deadline,
      get timeLeftMs() {
        return Math.max(0, deadline - clock.now())
      },
    }
    let timer: unknown
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('timeout'), timeoutMs)
    })
    try {
      const outcome = await Promise.race([
        Promise.resolve()
          .then(() => hook.fn(context))
          .then((value) => {
            if (typeof value === 'string' && value !== '') result.detail = value
            return 'ok' as const
          }),
        timeout,
        new Promise<'abandoned'>((resolve) => this.#abandon.signal.addEventListener('abort', () => resolve('abandoned'), { once: true })),
      ])
      if (outcome === 'abandoned') return // stays pending: the report lists it as still running
      // A hook that blocks the event loop finishes before its timer can fire:
      // its real duration, measured on completion, is what says it overran
      // (by a whole millisecond or more, so clock granularity never does).
      const tookMs = this.#clock.now() - started
      if (outcome === 'timeout' || tookMs >= timeoutMs + 1) {
        const error = new HookTimeoutError(hook.name, timeoutMs)
        controller.abort(error)
        result.outcome = 'timeout'
        result.error = outcome === 'timeout' ? error.message : `${error.message}: it returned after ${Math.round(tookMs)} ms (it blocked the event loop past its timeout)`
        const what = outcome === 'timeout' ? `timed out after ${timeoutMs} ms` : `returned after ${Math.round(tookMs)} ms, past its timeout of ${timeoutMs} ms`
        this.#log('error', `shutdown hook ${hook.name} ${what}`, { hook: hook.name, phase: hook.phase })
      } else {
        result.outcome = 'ok'
      }
    } catch (error) {
      result.outcome = 'error'
      result.error = error instanceof Error ? error.message : String(error)
      this.#log('error', `shutdown hook ${hook.name} failed: ${result.error}`, { hook: hook.name, phase: hook.phase, err: error })
    } finally {
      this.#clock.clearTimeout(timer)
      this.#abandon.signal.removeEventListener('abort', onAbandon)
      // End minus start, both rounded from the same origin: a hook that starts after another ends
      // never shows a start before that end (rounding each figure on its own could).
      if (result.outcome !== 'pending') result.durationMs = Math.round(this.#clock.now() - this.#origin) - result.startMs
    }
  }
}
