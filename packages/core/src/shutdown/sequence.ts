/**
 * The shutdown itself, in order: readiness fails and the readiness delay
 * runs (`leaving`), the drain (`draining`, under `drainTimeoutMs`), the
 * cleanup phases (`closing`), the report (`closed`). The whole of it runs
 * under `timeoutMs`; a second signal cuts it short. The controller starts
 * it once and hears of its end through `SequenceParts`.
 */

import { delay, type Clock, type TimerHandle } from '../clock.js'
import { DrainingError } from '../errors.js'
import { errorMessage, type Log } from '../logger.js'
import type { ResolvedOptions } from '../options.js'
import type { CrashKind, Trigger } from '../process/signals.js'
import type { AdaptiveDelay } from '../readiness/readinessDelay.js'
import type { ConnectionCounts, RequestCounts } from '../http/trackerTypes.js'
import type { HookRunner } from './hooks.js'
import type { ShutdownState } from './lifecycle.js'
import { buildReport, triggerLabel, type Counted, type PhaseTiming, type ReadinessDelayReport, type ShutdownReport } from './report.js'

/** What the sequence drains: the connections and requests of every attached server. */
export interface Drainable {
  readonly inFlight: number
  readonly open: number
  /** No connection is open and no request in flight. */
  readonly idle: boolean
  readonly requests: RequestCounts
  readonly connections: ConnectionCounts
  /** Readiness is failing: connections are told to close after their response where that is safe. */
  leaving(): void
  /** Stops listening and resolves once every connection is closed. */
  drain(): Promise<void>
  /** The deadline: destroys what is still open, counted as forced. */
  force(): void
}

/** What a shutdown works with, and how it tells the controller what happened. */
export interface SequenceParts {
  readonly options: ResolvedOptions
  readonly clock: Clock
  readonly log: Log
  readonly drainable: Drainable
  readonly hooks: HookRunner
  /** The automatic readiness delay, with `readinessDelayMs: 'auto'`. */
  readonly adaptive: AdaptiveDelay | undefined
  /** Aborted when the drain starts: the signal handlers follow. */
  readonly drainSignal: AbortController
  state(): ShutdownState
  enter(state: 'leaving' | 'draining' | 'closing' | 'closed'): void
  /** The first uncaught error seen, if any (`onCrash: 'shutdown'`). */
  crash(): { kind: CrashKind; error: string } | undefined
  /** Tells the service manager the service is stopping (systemd `STOPPING=1`). */
  notifyStopping(): void
  /** The report is final: called before the shutdown's promise resolves. */
  closed(report: ShutdownReport): void
  /** Then the exit: with the report's code, or the second signal's (`cut`). */
  exit(code: number, cut: boolean): void
}

/** A running shutdown: its report, and the way to end it at once. */
export interface RunningShutdown {
  readonly done: Promise<ShutdownReport>
  /** A second signal: finishes the report now, everything still running counted as forced. */
  cut(signal: NodeJS.Signals, code: number): void
}

type End = Counted['end']

/** Starts a shutdown. Call once; the controller keeps the returned handle. */
export function runShutdown(parts: SequenceParts, trigger: Trigger, skipReadinessDelay: boolean): RunningShutdown {
  const { clock, options: o, log, drainable, hooks } = parts
  const t0 = clock.now()
  const startedAt = new Date()
  const timeline: PhaseTiming[] = []
  const mark = (state: PhaseTiming['state']): void => {
    const offsetMs = Math.round(clock.now() - t0)
    timeline.push({ state, at: new Date(startedAt.getTime() + offsetMs).toISOString(), offsetMs })
    parts.enter(state)
  }
  let readinessDelay: ReadinessDelayReport = { durationMs: 0, rule: 'none' }
  let settle!: (report: ShutdownReport) => void
  const done = new Promise<ShutdownReport>((resolve) => (settle = resolve))
  let finished = false

  const finish = (end: End): void => {
    if (finished) return
    finished = true
    clock.clearTimeout(overall)
    const timedOut = end === 'timeout'
    const cut = typeof end === 'object' ? end : undefined
    const pending: string[] = []
    if (end !== 'done') {
      if (drainable.inFlight > 0) pending.push(`${drainable.inFlight} requests`)
      if (drainable.open > 0) pending.push(`${drainable.open} connections`)
      if (parts.state() === 'leaving') {
        pending.push('readiness delay')
        readinessDelay = { durationMs: Math.round(clock.now() - t0), rule: timedOut ? 'timeout' : 'signal' }
      }
      pending.push(...hooks.pending().map((h) => `hook ${h}`))
      hooks.abandon(cut === undefined ? undefined : { signal: cut.cut })
      drainable.force()
    }
    mark('closed')
    const report = buildReport({
      trigger,
      startedAt,
      durationMs: Math.round(clock.now() - t0),
      timeline,
      readinessDelay,
      requests: drainable.requests,
      connections: drainable.connections,
      hooks: hooks.results(),
      end,
      pending,
      crash: parts.crash(),
    })
    const crash = report.crash
    log(report.exitCode === 0 ? 'info' : 'warn', `shutdown finished with exit code ${report.exitCode} in ${report.durationMs} ms`, {
      exitCode: report.exitCode, timedOut, secondSignal: report.secondSignal, crash: crash ? `${crash.kind}: ${crash.error}` : undefined,
      requests: report.requests, pending: pending.length > 0 ? pending : undefined,
    })
    parts.closed(report)
    settle(report)
    if (cut) parts.exit(cut.code, true)
    else parts.exit(report.exitCode, false)
  }

  const overall: TimerHandle = clock.setTimeout(() => {
    log('error', `shutdown did not finish within timeoutMs (${o.timeoutMs} ms); exiting anyway`, { state: parts.state() })
    finish('timeout')
  }, o.timeoutMs, true)
  const abandoned = new AbortController()
  done.then(() => abandoned.abort(), () => {})

  const run = async (): Promise<void> => {
    parts.notifyStopping()
    drainable.leaving()
    hooks.begin(t0, o.timeoutMs)
    log('info', `shutdown started by ${triggerLabel(trigger)}; readiness now failing`, { readinessDelayMs: o.readinessDelayMs, drainTimeoutMs: o.drainTimeoutMs, timeoutMs: o.timeoutMs })
    mark('leaving')
    const early: Promise<void>[] = [hooks.runFrom('shutdown', trigger)]
    try {
      if (skipReadinessDelay) {
        // The host already stopped routing here: straight to the drain.
      } else if (o.readinessDelayMs === 'auto') {
        const rule = await parts.adaptive!.wait(t0, abandoned.signal)
        readinessDelay = { durationMs: Math.round(clock.now() - t0), rule, quietWindowMs: parts.adaptive!.quietWindowMs() }
      } else if (o.readinessDelayMs > 0) {
        await delay(clock, o.readinessDelayMs, abandoned.signal)
        readinessDelay = { durationMs: Math.round(clock.now() - t0), rule: 'fixed' }
      }
      if (finished) return

      mark('draining')
      parts.drainSignal.abort(new DrainingError())
      log('info', 'draining', { inFlight: drainable.inFlight, connections: drainable.open })
      early.push(hooks.runFrom('drain', trigger))
      const deadline = clock.setTimeout(() => {
        if (drainable.idle && drainable.inFlight === 0) return
        log('warn', `drain deadline (${o.drainTimeoutMs} ms): destroying ${drainable.open} connections with ${drainable.inFlight} requests in flight`)
        drainable.force()
      }, o.drainTimeoutMs)
      await drainable.drain()
      clock.clearTimeout(deadline)
      await Promise.all(early)
      if (finished) return

      mark('closing')
      await hooks.runFrom('cleanup', trigger)
    } catch (error) {
      if (finished) return
      log('error', `shutdown failed: ${errorMessage(error)}`, { err: error })
    }
    finish('done')
  }
  void run()
  return { done, cut: (signal, code) => finish({ cut: signal, code }) }
}
