import { delay, type Clock, type TimerHandle } from '../clock.js'
import type { Log } from '../logger.js'

/** What ended the readiness delay. */
export type DelayRule =
  /** A fixed `readinessDelayMs` elapsed. */
  | 'fixed'
  /** Fixed delay of 0. */
  | 'none'
  /** Every recent prober was answered 'not ready' (or there were none) and no application request arrived for a quiet window. */
  | 'quiet'
  /** The minimum (`readinessDelayMinMs`) was all that was left to wait. */
  | 'min'
  /** The maximum (`readinessDelayMaxMs`) was reached with evidence still saying traffic might come. */
  | 'max'
  /** The shutdown's `timeoutMs` fired during the delay. */
  | 'timeout'
  /** A second signal ended the shutdown during the delay. */
  | 'signal'

/** One decision of the adaptive delay, as emitted in the `delay` event and logged. */
export interface DelayDecision {
  type: 'probe-answered' | 'waiting' | 'ended'
  /** Milliseconds since the shutdown started. */
  atMs: number
  rule?: DelayRule
  /** Probers not yet answered 'not ready' (adaptive rule, outside Kubernetes). */
  probersPending?: number
  /** Quiet window in force, derived from the traffic seen before. */
  quietWindowMs?: number
  /** Milliseconds since the last application request (absent when none arrived recently). */
  quietForMs?: number | undefined
  prober?: string
}

export interface AdaptiveDelayOptions {
  clock: Clock
  log: Log
  minMs: number
  maxMs: number
  /** Under Kubernetes, endpoints follow pod deletion, not readiness: probes prove nothing. */
  kubernetes: boolean
  emit: (decision: DelayDecision) => void
}

/** Quiet window = this many typical gaps between requests, within the bounds below. */
const QUIET_GAPS = 3
/** No quiet window is shorter: requests already on the wire arrive well within it. */
export const QUIET_FLOOR_MS = 500
/** A prober not seen for this many of its intervals is taken to have stopped probing. */
const PROBER_STALE_INTERVALS = 3
/**
 * Probers that probe periodically, the only ones waited for. Balancers are a
 * handful per service; the bound keeps a flood of `/readyz` requests (the
 * endpoint is usually reachable by anyone) from growing the table.
 */
export const MAX_PROBERS = 64
/** Sources seen once, candidates to become probers on their second probe: the oldest is forgotten first. */
export const MAX_CANDIDATES = 256
/** A prober is its address and the first characters of its User-Agent: enough to tell balancers apart, never kilobytes per key. */
export const MAX_USER_AGENT_CHARS = 128
/** A second probe this long after the first starts over as a first one: no balancer probes that rarely (AWS ALB's default is every 30 s). */
const CANDIDATE_FORGET_MS = 60_000
/** Weight of the newest gap in the moving averages. */
const ALPHA = 0.2
/**
 * In normal operation the clock is read once for the requests of a batch:
 * when the batch is full, or this long after its first request, whichever
 * comes first. Requests are then known to this resolution, well under the
 * quiet window's floor.
 */
const BATCH_SPAN_MS = 100
/** At most this many requests per clock read (6 ms of traffic at 10,000 requests/s). */
const MAX_BATCH = 64

/** The key of a prober: its remote address and its User-Agent, cut to `MAX_USER_AGENT_CHARS`. */
export function proberKey(address: string | undefined, userAgent: string | undefined): string {
  const from = String(address)
  if (userAgent === undefined) return from
  return `${from} ${userAgent.length > MAX_USER_AGENT_CHARS ? userAgent.slice(0, MAX_USER_AGENT_CHARS) : userAgent}`
}

interface Prober {
  lastSeen: number
  intervalMs: number | undefined
  answeredNotReady: boolean
}

/**
 * Follows the load balancer instead of sleeping a fixed time: keeps serving
 * while traffic is still being routed here and ends the readiness delay when
 * the evidence says the balancers have stopped. `docs/readiness-delay.md`
 * explains the rule.
 *
 * In normal operation a request costs a counter: the clock is read once per
 * batch, when 64 requests have arrived or 100 ms after the first of them
 * (one unref'd timer), whichever comes first; and for every request once the
 * shutdown has begun. A clock read is ~580 instructions under callgrind, as
 * much as the rest of lastcall's cost on a bare node:http request: reading it
 * per request whenever traffic looked sparse made lastcall's cost depend on
 * the machine's load (docs/bench-overhead.md). Each probe costs
 * a lookup in two bounded maps:
 * sources seen once (`MAX_CANDIDATES`, oldest forgotten first) and probers
 * seen at least twice (`MAX_PROBERS`); a newcomer takes the place of a prober
 * that stopped probing or was answered, never of one still being waited for.
 */
export class AdaptiveDelay {
  readonly #o: AdaptiveDelayOptions
  readonly #probers = new Map<string, Prober>()
  /** Sources seen once, with when. */
  readonly #candidates = new Map<string, number>()
  #lastArrival: number | undefined
  #gapMs: number | undefined
  /** Application requests since the clock was last read for one. */
  #unread = 0
  /** Requests per clock read: `MAX_BATCH`, and 1 once the delay has begun. */
  #batch = MAX_BATCH
  /** Reads the clock for a batch that has not filled up in `BATCH_SPAN_MS`. */
  #tick: TimerHandle | undefined
  #shutdownAt: number | undefined
  #wake: (() => void) | undefined

  constructor(options: AdaptiveDelayOptions) {
    this.#o = options
  }

  /** An application request (not a probe) arrived. */
  observeRequest(): void {
    if (++this.#unread < this.#batch) {
      this.#tick ??= this.#o.clock.setTimeout(this.#onTick, BATCH_SPAN_MS)
      return
    }
    this.#read()
    // The timer is for a batch that does not fill up: the next batch starts its own.
    if (this.#tick !== undefined) {
      this.#o.clock.clearTimeout(this.#tick)
      this.#tick = undefined
    }
  }

  readonly #onTick = (): void => {
    this.#tick = undefined
    if (this.#unread > 0) this.#read()
  }

  /** The unread requests arrived by now: the last of them is taken to have arrived now. */
  #read(): void {
    const count = this.#unread
    this.#unread = 0
    const now = this.#o.clock.now()
    const last = this.#lastArrival
    this.#lastArrival = now
    if (last === undefined) return
    // The gap estimate learns from normal operation only: once the delay
    // has begun, the balancer thinning traffic out must not stretch it.
    if (this.#shutdownAt === undefined) this.#learn((now - last) / count, count)
  }

  /**
   * `count` gaps of `gap` ms on average: the moving average moves as if
   * they had been seen one by one (exactly so for one).
   */
  #learn(gap: number, count: number): void {
    this.#gapMs = this.#gapMs === undefined ? gap : gap + (1 - ALPHA) ** count * (this.#gapMs - gap)
  }

  /** A readiness probe arrived from `prober` (address and user agent); `ready` is what it will be answered. */
  observeProbe(prober: string, ready: boolean): void {
    const now = this.#o.clock.now()
    let p = this.#probers.get(prober)
    if (p === undefined) {
      p = this.#promote(prober, now)
      // A source seen once is no balancer yet (see `#stale`): nothing to wait for.
      if (p === undefined) return
    } else {
      const gap = now - p.lastSeen
      p.intervalMs = p.intervalMs === undefined ? gap : p.intervalMs + ALPHA * (gap - p.intervalMs)
      p.lastSeen = now
    }
    if (!ready && this.#shutdownAt !== undefined && !p.answeredNotReady) {
      p.answeredNotReady = true
      this.#o.emit({ type: 'probe-answered', atMs: Math.round(now - this.#shutdownAt), prober, probersPending: this.#pendingProbers(now) })
      this.#wake?.()
    }
  }

  /** How many probe sources are remembered right now (probers and candidates), bounded by `MAX_PROBERS` + `MAX_CANDIDATES`. */
  get sources(): number {
    return this.#probers.size + this.#candidates.size
  }

  /** The quiet window for the traffic seen so far. */
  quietWindowMs(): number {
    const gap = this.#gapMs
    const window = gap === undefined ? QUIET_FLOOR_MS : QUIET_GAPS * gap
    return Math.round(Math.min(Math.max(window, QUIET_FLOOR_MS), this.#o.maxMs))
  }

  /**
   * Waits until the rule says the balancers have stopped routing here, within
   * [minMs, maxMs] of `start`. Rejects when `signal` aborts.
   */
  async wait(start: number, signal: AbortSignal): Promise<DelayRule> {
    this.#shutdownAt = start
    if (this.#unread > 0) {
      // Requests of the batch not read yet arrived at most BATCH_SPAN_MS
      // (plus a late timer) before `start`, at unread times: read the
      // cautious way, as one gap as long as the whole batch, and as traffic
      // right up to the start. At worst the delay lasts a little longer than
      // knowing their times would have made it.
      if (this.#lastArrival !== undefined) this.#learn(start - this.#lastArrival, 1)
      this.#lastArrival = start
      this.#unread = 0
    }
    if (this.#tick !== undefined) {
      this.#o.clock.clearTimeout(this.#tick)
      this.#tick = undefined
    }
    // From now on every request is timed.
    this.#batch = 1
    const { clock, minMs, maxMs } = this.#o
    const quiet = this.quietWindowMs()
    let heldByMinimum = false
    for (;;) {
      if (signal.aborted) throw signal.reason
      const now = clock.now()
      const elapsed = now - start
      if (elapsed >= maxMs) return this.#end('max', now)
      const pending = this.#o.kubernetes ? 0 : this.#pendingProbers(now)
      // Quiet counts from the later of the last request and the start of the delay: a
      // request seen a minute before the shutdown says nothing about the next second.
      const lastSeen = this.#lastArrival === undefined ? start : Math.max(this.#lastArrival, start)
      const hadTraffic = this.#lastArrival !== undefined && this.#lastArrival >= start - quiet
      const quietFor = hadTraffic ? now - lastSeen : Infinity
      if (pending === 0 && quietFor >= quiet) {
        if (elapsed >= minMs) return this.#end(heldByMinimum ? 'min' : 'quiet', now, quiet, quietFor)
        heldByMinimum = true
      } else {
        heldByMinimum = false
      }
      // Sleep until something could change: the minimum, the end of the quiet window,
      // a pending prober going stale, or the maximum; a probe answered 'not ready' wakes us early.
      let next = start + maxMs
      if (elapsed < minMs) next = Math.min(next, start + minMs)
      if (quietFor < quiet) next = Math.min(next, lastSeen + quiet)
      if (pending > 0) next = Math.min(next, this.#nextStale(now))
      this.#o.emit({ type: 'waiting', atMs: Math.round(elapsed), probersPending: pending, quietWindowMs: quiet, quietForMs: quietFor === Infinity ? undefined : Math.round(quietFor) })
      await this.#sleep(Math.max(1, next - now), signal)
    }
  }

  #end(rule: DelayRule, now: number, quietWindowMs?: number, quietFor?: number): DelayRule {
    const atMs = Math.round(now - (this.#shutdownAt ?? now))
    const decision: DelayDecision = { type: 'ended', atMs, rule }
    if (quietWindowMs !== undefined) decision.quietWindowMs = quietWindowMs
    if (quietFor !== undefined && quietFor !== Infinity) decision.quietForMs = Math.round(quietFor)
    this.#o.emit(decision)
    this.#o.log('info', `readiness delay ended after ${atMs} ms (${rule})`, { rule, quietWindowMs, quietForMs: decision.quietForMs })
    return rule
  }

  /** Probers seen recently that have not yet been answered 'not ready'. */
  #pendingProbers(now: number): number {
    let pending = 0
    for (const p of this.#probers.values()) {
      if (!p.answeredNotReady && !this.#stale(p, now)) pending++
    }
    return pending
  }

  /**
   * A prober seen only once is no balancer (a person's curl, a test waiting
   * for readiness): only one that probes periodically can be waited for.
   */
  #stale(p: Prober, now: number): boolean {
    return p.intervalMs === undefined || now - p.lastSeen > PROBER_STALE_INTERVALS * p.intervalMs
  }

  #nextStale(now: number): number {
    let next = Infinity
    for (const p of this.#probers.values()) {
      if (p.answeredNotReady || this.#stale(p, now) || p.intervalMs === undefined) continue
      next = Math.min(next, p.lastSeen + PROBER_STALE_INTERVALS * p.intervalMs + 1)
    }
    return next
  }

  /**
   * A source not yet a prober: on its first probe it becomes a candidate; on
   * its second, a prober with an interval, if there is room (a full table
   * gives up the first entry it holds that is no longer waited for: silent
   * for three intervals, or already answered 'not ready').
   */
  #promote(key: string, now: number): Prober | undefined {
    const firstSeen = this.#candidates.get(key)
    if (firstSeen === undefined || now - firstSeen > CANDIDATE_FORGET_MS) {
      // Deleted first, so a candidate seen again moves to the end of the eviction order.
      this.#candidates.delete(key)
      if (this.#candidates.size >= MAX_CANDIDATES) this.#candidates.delete(this.#candidates.keys().next().value!)
      this.#candidates.set(key, now)
      return undefined
    }
    if (this.#probers.size >= MAX_PROBERS && !this.#evictOne(now)) {
      this.#candidates.set(key, now)
      return undefined
    }
    this.#candidates.delete(key)
    const p: Prober = { lastSeen: now, intervalMs: now - firstSeen, answeredNotReady: false }
    this.#probers.set(key, p)
    return p
  }

  /** Bounded by `MAX_PROBERS`, and only when a newcomer needs the room. */
  #evictOne(now: number): boolean {
    for (const [key, p] of this.#probers) {
      if (p.answeredNotReady || this.#stale(p, now)) {
        this.#probers.delete(key)
        return true
      }
    }
    return false
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const early = new AbortController()
    this.#wake = () => early.abort()
    const both = AbortSignal.any([signal, early.signal])
    try {
      await delay(this.#o.clock, ms, both)
    } catch (error) {
      if (signal.aborted) throw error
    } finally {
      this.#wake = undefined
    }
  }
}
