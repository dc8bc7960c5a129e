import { metrics, SpanStatusCode, trace, type Attributes, type Meter, type ObservableResult, type Span, type Tracer } from '@opentelemetry/api'
import type { ShutdownReport, ShutdownState } from '@lastcall/core'
import { DURATION_BUCKETS, FIGURES, followShutdown, outcomeOf, STATES, triggerLabel, type Figure, type ObservedController } from './figures.js'

const SCOPE = '@lastcall/metrics'

export interface OpenTelemetryOptions {
  /**
   * Where the instruments are created.
   * @default metrics.getMeter('@lastcall/metrics') from the global MeterProvider
   */
  meter?: Meter
  /**
   * Where the shutdown span is created. `false`: no span.
   * @default trace.getTracer('@lastcall/metrics') from the global TracerProvider
   */
  tracer?: Tracer | false
  /**
   * Explicit bucket boundaries (seconds) advised for the duration histograms.
   * @default 0.005 … 120 (16 buckets)
   */
  buckets?: readonly number[]
}

export interface OpenTelemetryInstrumentation {
  /** Stops following the controller and stops reporting the observable gauges. */
  remove(): void
}

/**
 * Reports lastcall's figures through `@opentelemetry/api` (whatever SDK the
 * application set up; lastcall depends on none) and each shutdown as a span
 * named `lastcall.shutdown`: started when readiness starts failing, one
 * event per phase, one per cleanup hook, ended with the report's figures as
 * attributes (status ERROR when the exit code is not 0).
 *
 * The process exits right after the report: with a push exporter, give the
 * controller an `exit` function that flushes the provider first and then
 * exits with the code (`docs/metrics.md` shows it).
 */
export function openTelemetryMetrics(controller: ObservedController, options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  const meter = options.meter ?? metrics.getMeter(SCOPE)
  const tracer = options.tracer === false ? undefined : (options.tracer ?? trace.getTracer(SCOPE))
  const boundaries = [...(options.buckets ?? DURATION_BUCKETS)]
  const describe = (figure: Figure) => ({ description: figure.help, unit: figure.otel.unit })
  const histogram = (figure: Figure) => meter.createHistogram(figure.otel.name, { ...describe(figure), advice: { explicitBucketBoundaries: boundaries } })

  const inFlight = meter.createObservableGauge(FIGURES.requestsInFlight.otel.name, describe(FIGURES.requestsInFlight))
  const open = meter.createObservableGauge(FIGURES.openConnections.otel.name, describe(FIGURES.openConnections))
  const state = meter.createObservableGauge(FIGURES.state.otel.name, describe(FIGURES.state))
  const observeInFlight = (result: ObservableResult): void => result.observe(controller.inFlight)
  const observeOpen = (result: ObservableResult): void => {
    for (const [protocol, count] of Object.entries(controller.openConnectionsByKind())) result.observe(count, { protocol })
  }
  const observeState = (result: ObservableResult): void => {
    const current = controller.state
    for (const s of STATES) result.observe(s === current ? 1 : 0, { state: s })
  }
  inFlight.addCallback(observeInFlight)
  open.addCallback(observeOpen)
  state.addCallback(observeState)

  const shutdowns = meter.createCounter(FIGURES.shutdowns.otel.name, describe(FIGURES.shutdowns))
  const shutdownDuration = histogram(FIGURES.shutdownDuration)
  const phaseDuration = histogram(FIGURES.phaseDuration)
  const hookDuration = histogram(FIGURES.hookDuration)
  const hookFailures = meter.createCounter(FIGURES.hookFailures.otel.name, describe(FIGURES.hookFailures))
  const requestsRejected = meter.createCounter(FIGURES.requestsRejected.otel.name, describe(FIGURES.requestsRejected))
  const requestsForced = meter.createCounter(FIGURES.requestsForced.otel.name, describe(FIGURES.requestsForced))
  const connectionsForced = meter.createCounter(FIGURES.connectionsForced.otel.name, describe(FIGURES.connectionsForced))

  let span: Span | undefined
  const phaseEvent = (next: ShutdownState, previous: ShutdownState): void => {
    if (!tracer) return
    if (next === 'leaving') {
      span = tracer.startSpan('lastcall.shutdown', { attributes: { 'lastcall.state.previous': previous } })
    }
    span?.addEvent(next, { 'lastcall.requests.in_flight': controller.inFlight, 'lastcall.connections.open': controller.openConnections })
  }

  const finish = (report: ShutdownReport): void => {
    const outcome = outcomeOf(report)
    const trigger = triggerLabel(report.trigger)
    shutdowns.add(1, { trigger, outcome })
    shutdownDuration.record(report.durationMs / 1000, { outcome })
    for (const hook of report.hooks) {
      const attributes = { phase: hook.phase, hook: hook.name, outcome: hook.outcome }
      hookDuration.record(hook.durationMs / 1000, attributes)
      if (hook.outcome !== 'ok') hookFailures.add(1, attributes)
    }
    requestsRejected.add(report.requests.rejected)
    requestsForced.add(report.requests.forced)
    connectionsForced.add(report.connections.forced)
    if (!span) return
    const started = Date.parse(report.startedAt)
    const byEnd = [...report.hooks].sort((a, b) => a.startMs + a.durationMs - (b.startMs + b.durationMs))
    for (const hook of byEnd) {
      const attributes: Attributes = { 'lastcall.hook': hook.name, 'lastcall.phase': hook.phase, 'lastcall.hook.outcome': hook.outcome, 'lastcall.hook.duration_ms': hook.durationMs }
      if (hook.error !== undefined) attributes['lastcall.hook.error'] = hook.error
      span.addEvent(`hook ${hook.name}`, attributes, started + hook.startMs + hook.durationMs)
    }
    span.setAttributes({
      'lastcall.trigger': trigger,
      'lastcall.outcome': outcome,
      'lastcall.exit_code': report.exitCode,
      'lastcall.timed_out': report.timedOut,
      'lastcall.readiness_delay_ms': report.readinessDelay.durationMs,
      'lastcall.readiness_delay_rule': report.readinessDelay.rule,
      'lastcall.requests.in_flight_at_drain': report.requests.inFlightAtDrain,
      'lastcall.requests.completed': report.requests.completed,
      'lastcall.requests.rejected': report.requests.rejected,
      'lastcall.requests.forced': report.requests.forced,
      'lastcall.connections.open_at_drain': report.connections.openAtDrain,
      'lastcall.connections.forced': report.connections.forced,
      'lastcall.hooks.failed': report.hooks.filter((h) => h.outcome !== 'ok').length,
    })
    if (report.pending.length > 0) span.setAttribute('lastcall.pending', report.pending)
    if (report.exitCode !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome === 'timeout' ? 'shutdown timed out' : 'shutdown finished with problems' })
    span.end()
    span = undefined
  }

  const stop = followShutdown(controller, {
    phaseEnded: ({ phase, seconds }) => phaseDuration.record(seconds, { phase }),
    stateChanged: phaseEvent,
    closed: finish,
  })

  return {
    remove: () => {
      stop()
      inFlight.removeCallback(observeInFlight)
      open.removeCallback(observeOpen)
      state.removeCallback(observeState)
    },
  }
}
