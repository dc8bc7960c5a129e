import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics'
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace'
import { afterEach, describe, expect, it } from 'vitest'
import { DURATION_BUCKETS } from '../src/figures.js'
import { openTelemetryMetrics } from '../src/opentelemetry.js'
import { get, startApp } from './app.js'

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

async function setup(options: Parameters<typeof startApp>[0] = {}) {
  const app = await startApp(options)
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // A long interval: figures are read only when the test flushes.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const spans = new InMemorySpanExporter()
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] })
  const instrumentation = openTelemetryMetrics(app.shutdown, { meter: meterProvider.getMeter('test'), tracer: tracerProvider.getTracer('test') })
  cleanup.push(async () => {
    instrumentation.remove()
    app.close()
    await meterProvider.shutdown()
    await tracerProvider.shutdown()
  })
  /** Reads every figure now, through the SDK's reader and the in-memory exporter. */
  const read = async (): Promise<Map<string, MetricData>> => {
    exporter.reset()
    await reader.forceFlush()
    const all = new Map<string, MetricData>()
    for (const rm of exporter.getMetrics()) for (const scope of rm.scopeMetrics) for (const m of scope.metrics) all.set(m.descriptor.name, m)
    return all
  }
  return { app, read, spans, instrumentation }
}

const value = (m: MetricData | undefined, attributes: Record<string, string> = {}): number | undefined =>
  m?.dataPoints.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value as number | undefined

const currentState = (m: MetricData | undefined): string[] => (m?.dataPoints ?? []).filter((p) => p.value === 1).map((p) => String(p.attributes.state))

describe('openTelemetryMetrics', () => {
  it('reports in-flight requests, open connections and the state set through an SDK reader during a drain', async () => {
    const { app, read } = await setup({ drainTimeoutMs: 5000 })
    const reply = get(app.port, '/held', { agent: false })
    await app.arrived(1)
    const before = await read()
    expect(value(before.get('lastcall.requests.in_flight'))).toBe(1)
    expect(value(before.get('lastcall.connections.open'))).toBe(1)
    expect(currentState(before.get('lastcall.state'))).toEqual(['serving'])
    expect(before.get('lastcall.state')!.dataPoints).toHaveLength(6)

    const draining = new Promise<void>((resolve) => app.shutdown.on('state', (s) => s === 'draining' && resolve()))
    const done = app.shutdown.shutdown()
    await draining
    const during = await read()
    expect(currentState(during.get('lastcall.state'))).toEqual(['draining'])
    expect(value(during.get('lastcall.requests.in_flight'))).toBe(1)

    app.release()
    expect((await reply).status).toBe(200)
    await done
    const after = await read()
    expect(currentState(after.get('lastcall.state'))).toEqual(['closed'])
    expect(value(after.get('lastcall.requests.in_flight'))).toBe(0)
    expect(value(after.get('lastcall.shutdowns'), { trigger: 'manual', outcome: 'clean' })).toBe(1)
    const phases = after.get('lastcall.shutdown.phase.duration') as HistogramMetricData
    expect(phases.descriptor.unit).toBe('s')
    expect(phases.dataPoints.map((p) => [p.attributes.phase, p.value.count]).sort()).toEqual([['closing', 1], ['draining', 1], ['leaving', 1]])
    const drainPoint = phases.dataPoints.find((p) => p.attributes.phase === 'draining')!
    expect(drainPoint.value.sum).toBeGreaterThan(0)
    // The buckets reach the SDK as the histogram's advice (the default buckets, not the SDK's own).
    expect(drainPoint.value.buckets.boundaries).toEqual([...DURATION_BUCKETS])
    expect(value(after.get('lastcall.shutdown.requests.forced'))).toBe(0)
  })

  it('records the shutdown as a span with one event per phase and one per hook, failures marked', async () => {
    const { app, read, spans } = await setup()
    app.shutdown.onShutdown('close-db', () => {}, { phase: 'stores' })
    app.shutdown.onShutdown('flush-queue', () => {
      throw new Error('queue gone')
    })
    const report = await app.shutdown.shutdown('deploy')
    expect(report.exitCode).toBe(1)

    const finished = spans.getFinishedSpans()
    expect(finished).toHaveLength(1)
    const span = finished[0]!
    expect(span.name).toBe('lastcall.shutdown')
    const names = span.events.map((e) => e.name)
    expect(names.slice(0, 4)).toEqual(['leaving', 'draining', 'closing', 'closed'])
    // Hook events carry their own end times; hooks that end in the same millisecond have no order between them.
    expect(names.slice(4).sort()).toEqual(['hook close-db', 'hook flush-queue'])
    expect(span.events[1]!.attributes).toMatchObject({ 'lastcall.requests.in_flight': 0, 'lastcall.connections.open': 0 })
    expect(span.events.find((e) => e.name === 'hook flush-queue')!.attributes).toMatchObject({
      'lastcall.hook.outcome': 'error', 'lastcall.hook.error': 'queue gone', 'lastcall.phase': 'default',
    })
    expect(span.attributes).toMatchObject({ 'lastcall.trigger': 'manual', 'lastcall.outcome': 'failed', 'lastcall.exit_code': 1, 'lastcall.hooks.failed': 1 })
    expect(span.status.code).toBe(2) // SpanStatusCode.ERROR

    const figures = await read()
    expect(value(figures.get('lastcall.hook.failures'), { hook: 'flush-queue', outcome: 'error' })).toBe(1)
    expect(figures.get('lastcall.hook.failures')!.dataPoints).toHaveLength(1)
    const hooks = figures.get('lastcall.hook.duration') as HistogramMetricData
    expect(hooks.dataPoints.map((p) => `${p.attributes.phase}/${p.attributes.hook}=${p.attributes.outcome}`).sort()).toEqual(['default/flush-queue=error', 'stores/close-db=ok'])
  })

  it('reports forced connections and a timeout outcome', async () => {
    const { app, read, spans } = await setup({ drainTimeoutMs: 100, timeoutMs: 5000 })
    const hung = get(app.port, '/hang', { agent: false }).catch((error: NodeJS.ErrnoException) => error.code)
    await app.arrived(1)
    await app.shutdown.shutdown()
    expect(await hung).toBe('ECONNRESET')
    const figures = await read()
    expect(value(figures.get('lastcall.shutdown.connections.forced'))).toBe(1)
    expect(value(figures.get('lastcall.shutdown.requests.forced'))).toBe(1)
    expect(value(figures.get('lastcall.shutdowns'), { outcome: 'failed' })).toBe(1)
    expect(spans.getFinishedSpans()[0]!.attributes['lastcall.requests.forced']).toBe(1)
  })
})
