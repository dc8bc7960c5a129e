import type { ConnectionCounts, RequestCounts } from '../http/trackerTypes.js'
import type { HookResult } from './hooks.js'
import type { DelayRule } from '../readiness/readinessDelay.js'
import type { CrashKind, Trigger } from '../process/signals.js'

/** One step of the shutdown, with when it began. */
export interface PhaseTiming {
  state: 'leaving' | 'draining' | 'closing' | 'closed'
  /** Wall-clock time, ISO 8601. */
  at: string
  /** Milliseconds since the shutdown started. */
  offsetMs: number
}

export interface ReadinessDelayReport {
  /** How long the service kept serving with readiness failing. */
  durationMs: number
  /** What ended the delay: see `DelayRule`. */
  rule: DelayRule
  /** The quiet window the automatic delay used. */
  quietWindowMs?: number
}

export interface ShutdownReport {
  trigger: Trigger
  /** Wall-clock start, ISO 8601. */
  startedAt: string
  durationMs: number
  timeline: PhaseTiming[]
  readinessDelay: ReadinessDelayReport
  requests: RequestCounts
  connections: ConnectionCounts
  hooks: HookResult[]
  /** `timeoutMs` fired before the shutdown finished. */
  timedOut: boolean
  /** What was still running when the report was made (only when something was). */
  pending: string[]
  /**
   * A second signal ended the shutdown at once: what was still running is
   * listed in `pending` and counted as forced, and `exitCode` is 128 + its number.
   */
  secondSignal?: NodeJS.Signals
  /**
   * The first uncaught error handled by `onCrash: 'shutdown'`, whether it
   * started this shutdown or happened during one started otherwise. The
   * process exits 1 after a crash, and so does the report.
   */
  crash?: { kind: CrashKind; error: string }
  /**
   * The code the process exits with: 0 when everything finished in time and
   * every hook succeeded, 128 + the signal's number after a second signal, 1 otherwise.
   */
  exitCode: number
}

/** What a shutdown counted, the report is made of. */
export interface Counted extends Pick<ShutdownReport, 'trigger' | 'durationMs' | 'timeline' | 'readinessDelay' | 'requests' | 'connections' | 'hooks' | 'pending'> {
  startedAt: Date
  /** How the shutdown ended: ran to its end, `timeoutMs` fired, or a second signal cut it (the process exits with `code`). */
  end: 'done' | 'timeout' | { cut: NodeJS.Signals; code: number }
  /** The first uncaught error seen (`onCrash: 'shutdown'`). */
  crash: { kind: CrashKind; error: string } | undefined
}

/** The report of a shutdown from what it counted, and its exit code. Copies the counts: the report never changes after. */
export function buildReport(counted: Counted): ShutdownReport {
  const { trigger, end, crash } = counted
  const timedOut = end === 'timeout'
  const cut = typeof end === 'object' ? end : undefined
  const failed = counted.hooks.some((h) => h.outcome !== 'ok')
  const forced = counted.requests.forced + counted.connections.forced
  const report: ShutdownReport = {
    trigger,
    startedAt: counted.startedAt.toISOString(),
    durationMs: counted.durationMs,
    timeline: counted.timeline,
    readinessDelay: counted.readinessDelay,
    requests: { ...counted.requests },
    connections: { ...counted.connections, byKind: { ...counted.connections.byKind } },
    hooks: counted.hooks,
    timedOut,
    pending: counted.pending,
    exitCode: cut ? cut.code : timedOut || failed || forced > 0 || trigger.type === 'error' || crash ? 1 : 0,
  }
  if (cut) report.secondSignal = cut.cut
  if (crash) report.crash = { ...crash }
  return report
}

export function triggerLabel(trigger: Trigger): string {
  switch (trigger.type) {
    case 'signal':
      return trigger.signal
    case 'message':
      return `message "${trigger.message}"`
    case 'manual':
    case 'error':
      return trigger.reason
  }
}

/**
 * A compact, human timeline of a report:
 *
 * ```
 * lastcall shutdown (SIGTERM) exit 0 in 312 ms
 *      0 ms  leaving   readiness failing, serving for 0 ms (fixed)
 *      1 ms  draining  4 requests in flight, 12 connections open
 *    306 ms  closing   3 hooks
 *    311 ms  closed
 *   requests: 4 completed, 0 rejected, 0 aborted, 0 forced
 *   ...
 * ```
 */
export function formatReport(report: ShutdownReport): string {
  const lines: string[] = []
  const verdict = report.exitCode === 0 ? 'clean' : report.secondSignal ? `CUT SHORT by a second ${report.secondSignal}` : report.timedOut ? 'TIMED OUT' : 'with problems'
  lines.push(`lastcall shutdown (${triggerLabel(report.trigger)}): ${verdict}, exit ${report.exitCode} after ${report.durationMs} ms`)
  const { requests: r, connections: c } = report
  for (const step of report.timeline) {
    let detail = ''
    if (step.state === 'leaving') detail = `readiness failing; serving ${report.readinessDelay.durationMs} ms (${report.readinessDelay.rule})`
    else if (step.state === 'draining') detail = `${r.inFlightAtDrain} in flight, ${c.openAtDrain} connections open`
    else if (step.state === 'closing') detail = `${report.hooks.length} hook${report.hooks.length === 1 ? '' : 's'}`
    lines.push(`  ${String(step.offsetMs).padStart(7)} ms  ${step.state.padEnd(9)} ${detail}`.trimEnd())
  }
  lines.push(`  requests:    ${r.completed} completed, ${r.rejected} rejected, ${r.aborted} aborted by client, ${r.forced} cut off`)
  lines.push(`  connections: ${c.closedAfterResponse} after response, ${c.closedIdle} idle, ${c.closedByClient} by client, ${c.forced} forced`)
  for (const h of report.hooks) {
    const mark = h.outcome === 'ok' ? '+' : '-'
    lines.push(`  [${mark}] ${h.phase}/${h.name} ${h.outcome} in ${h.durationMs} ms${h.error ? `: ${h.error}` : h.detail ? `: ${h.detail}` : ''}`)
  }
  if (report.crash) lines.push(`  crashed:     ${report.crash.kind}: ${report.crash.error}`)
  if (report.pending.length > 0) lines.push(`  still running: ${report.pending.join(', ')}`)
  return lines.join('\n')
}
