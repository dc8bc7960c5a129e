import { SHUTDOWN_STATES, type ShutdownReport, type ShutdownState, type Trigger } from '@lastcall/core'

/** How a figure is recorded: the Prometheus metric type (the OpenTelemetry instrument follows from it). */
export type FigureType = 'gauge' | 'counter' | 'histogram'

/** One figure lastcall reports, in the Prometheus shape (the OpenTelemetry names are derived from it). */
export interface Figure {
  /** Without the prefix: `requests_in_flight`, `shutdowns_total`. */
  name: string
  /** Gauge, counter or histogram. */
  type: FigureType
  /** Label (attribute) names. */
  labels: readonly string[]
  /** The metric's help text (Prometheus `# HELP`, OpenTelemetry description). */
  help: string
  /** OpenTelemetry instrument name and unit. */
  otel: { name: string; unit: string }
}

/** Every state of the lifecycle, in order: the series of the state-set gauge. */
export const STATES: readonly ShutdownState[] = SHUTDOWN_STATES

/** The states that are timed as shutdown phases, each from its start to the next state. */
export const TIMED_PHASES = ['leaving', 'draining', 'closing'] as const
/** One of {@link TIMED_PHASES}. */
export type TimedPhase = (typeof TIMED_PHASES)[number]

/** Seconds: from a fast drain on loopback to a long Kubernetes grace period. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120]

/**
 * The figures, named by Prometheus conventions (base unit seconds, `_total`
 * for counters). Gauges are read from the controller when scraped; the
 * counters and histograms of a shutdown are recorded as its phases end and
 * when its report is final.
 */
export const FIGURES: Readonly<Record<FigureKey, Figure>> = {
  requestsInFlight: {
    name: 'requests_in_flight', type: 'gauge', labels: [],
    help: 'Requests in flight on the servers attached to the lastcall controller.',
    otel: { name: 'lastcall.requests.in_flight', unit: '{request}' },
  },
  openConnections: {
    name: 'open_connections', type: 'gauge', labels: ['protocol'],
    help: 'Connections open on the attached servers, by protocol: http1, h2 (sessions) or upgraded (WebSockets).',
    otel: { name: 'lastcall.connections.open', unit: '{connection}' },
  },
  state: {
    name: 'state', type: 'gauge', labels: ['state'],
    help: 'Lifecycle state as a state set: 1 for the current state, 0 for the others.',
    otel: { name: 'lastcall.state', unit: '1' },
  },
  shutdowns: {
    name: 'shutdowns_total', type: 'counter', labels: ['trigger', 'outcome'],
    help: 'Shutdowns finished, by what started them (SIGTERM, message, manual, error) and outcome (clean, failed, timeout).',
    otel: { name: 'lastcall.shutdowns', unit: '{shutdown}' },
  },
  shutdownDuration: {
    name: 'shutdown_duration_seconds', type: 'histogram', labels: ['outcome'],
    help: 'Duration of whole shutdowns, from the signal to the final report.',
    otel: { name: 'lastcall.shutdown.duration', unit: 's' },
  },
  phaseDuration: {
    name: 'shutdown_phase_duration_seconds', type: 'histogram', labels: ['phase'],
    help: 'Duration of each shutdown phase: leaving (readiness delay), draining, closing (cleanup hooks).',
    otel: { name: 'lastcall.shutdown.phase.duration', unit: 's' },
  },
  hookDuration: {
    name: 'hook_duration_seconds', type: 'histogram', labels: ['phase', 'hook', 'outcome'],
    help: 'Duration of each cleanup hook, by phase, hook name and outcome (ok, error, timeout, pending).',
    otel: { name: 'lastcall.hook.duration', unit: 's' },
  },
  hookFailures: {
    name: 'hook_failures_total', type: 'counter', labels: ['phase', 'hook', 'outcome'],
    help: 'Cleanup hooks that threw (error), passed their timeout (timeout) or were still running when timeoutMs fired (pending).',
    otel: { name: 'lastcall.hook.failures', unit: '{hook}' },
  },
  requestsRejected: {
    name: 'shutdown_requests_rejected_total', type: 'counter', labels: [],
    help: 'Requests answered 503 with Retry-After during shutdowns.',
    otel: { name: 'lastcall.shutdown.requests.rejected', unit: '{request}' },
  },
  requestsForced: {
    name: 'shutdown_requests_forced_total', type: 'counter', labels: [],
    help: 'Requests still in flight at the drain deadline, cut off.',
    otel: { name: 'lastcall.shutdown.requests.forced', unit: '{request}' },
  },
  connectionsForced: {
    name: 'shutdown_connections_forced_total', type: 'counter', labels: [],
    help: 'Connections destroyed at the drain deadline (or WebSocket clients terminated).',
    otel: { name: 'lastcall.shutdown.connections.forced', unit: '{connection}' },
  },
}

/** The keys of {@link FIGURES}, one per figure. */
export type FigureKey =
  | 'requestsInFlight' | 'openConnections' | 'state' | 'shutdowns' | 'shutdownDuration' | 'phaseDuration'
  | 'hookDuration' | 'hookFailures' | 'requestsRejected' | 'requestsForced' | 'connectionsForced'

/** The `outcome` label of a finished shutdown: clean (exit 0), failed (exit 1) or timeout (`timeoutMs` fired). */
export type Outcome = 'clean' | 'failed' | 'timeout'

/** The `trigger` label: the signal's name, or `message`, `manual`, `error`. */
export function triggerLabel(trigger: Trigger): string {
  return trigger.type === 'signal' ? trigger.signal : trigger.type
}

/** The `outcome` label of a finished shutdown. */
export function outcomeOf(report: ShutdownReport): Outcome {
  if (report.timedOut) return 'timeout'
  return report.exitCode === 0 ? 'clean' : 'failed'
}

/** The subset of a `ShutdownController` the metrics read: its public API only. */
export interface ObservedController {
  readonly state: ShutdownState
  readonly inFlight: number
  readonly openConnections: number
  openConnectionsByKind(): Record<string, number>
  on(event: 'state', listener: (state: ShutdownState, previous: ShutdownState) => void): unknown
  on(event: 'closed', listener: (report: ShutdownReport) => void): unknown
  off(event: 'state', listener: (state: ShutdownState, previous: ShutdownState) => void): unknown
  off(event: 'closed', listener: (report: ShutdownReport) => void): unknown
}

/** A timed phase that ended, as `followShutdown` reports it. */
export interface PhaseEnd {
  /** The phase that ended. */
  phase: TimedPhase
  /** How long it lasted, in seconds. */
  seconds: number
}

/**
 * Follows a controller's `state` and `closed` events and calls back as each
 * timed phase ends (measured with `performance.now()`, so a phase is timed
 * even when the report never comes) and when the report is final. Returns
 * the function that stops following.
 */
export function followShutdown(
  controller: ObservedController,
  on: { phaseEnded?: (end: PhaseEnd) => void; stateChanged?: (state: ShutdownState, previous: ShutdownState) => void; closed?: (report: ShutdownReport) => void },
): () => void {
  let current: { phase: TimedPhase; since: number } | undefined
  const onState = (state: ShutdownState, previous: ShutdownState): void => {
    const now = performance.now()
    if (current) on.phaseEnded?.({ phase: current.phase, seconds: (now - current.since) / 1000 })
    current = (TIMED_PHASES as readonly string[]).includes(state) ? { phase: state as TimedPhase, since: now } : undefined
    on.stateChanged?.(state, previous)
  }
  const onClosed = (report: ShutdownReport): void => on.closed?.(report)
  controller.on('state', onState)
  controller.on('closed', onClosed)
  return () => {
    controller.off('state', onState)
    controller.off('closed', onClosed)
  }
}
