import type { IncomingMessage, ServerResponse } from 'node:http'
import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client'
import { DURATION_BUCKETS, FIGURES, followShutdown, outcomeOf, STATES, triggerLabel, type Figure, type ObservedController } from './figures.js'

export interface PrometheusMetricsOptions {
  /**
   * The prom-client registry the figures are registered in.
   * @default prom-client's default registry (`register`)
   */
  registry?: Registry
  /**
   * Prepended to every name. Keep the trailing underscore.
   * @default 'lastcall_'
   */
  prefix?: string
  /**
   * Histogram buckets, in seconds, for shutdown, phase and hook durations.
   * @default 0.005 … 120 (16 buckets)
   */
  buckets?: readonly number[]
}

export interface PrometheusMetrics {
  readonly registry: Registry
  /** Every metric name registered, prefix included. */
  readonly names: readonly string[]
  /** Stops following the controller and removes the metrics from the registry. */
  remove(): void
}

/**
 * Registers lastcall's figures for one controller in a prom-client registry.
 * Gauges are read from the controller when the registry is scraped (no
 * timers); counters and histograms are recorded as phases end and when the
 * report is final. One controller per registry.
 */
export function prometheusMetrics(controller: ObservedController, options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'lastcall_'
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(`lastcall: option "prefix" must be a Prometheus name prefix such as "lastcall_"; received ${JSON.stringify(prefix)}`)
  }
  const buckets = [...(options.buckets ?? DURATION_BUCKETS)]
  const names: string[] = []
  const base = <L extends string>(figure: Figure) => {
    names.push(prefix + figure.name)
    return { name: prefix + figure.name, help: figure.help, labelNames: figure.labels as readonly L[], registers: [registry] }
  }

  new Gauge({
    ...base(FIGURES.requestsInFlight),
    collect() {
      this.set(controller.inFlight)
    },
  })
  new Gauge({
    ...base<'protocol'>(FIGURES.openConnections),
    collect() {
      for (const [protocol, count] of Object.entries(controller.openConnectionsByKind())) this.set({ protocol }, count)
    },
  })
  new Gauge({
    ...base<'state'>(FIGURES.state),
    collect() {
      const current = controller.state
      for (const state of STATES) this.set({ state }, state === current ? 1 : 0)
    },
  })
  const shutdowns = new Counter(base<'trigger' | 'outcome'>(FIGURES.shutdowns))
  const shutdownDuration = new Histogram({ ...base<'outcome'>(FIGURES.shutdownDuration), buckets })
  const phaseDuration = new Histogram({ ...base<'phase'>(FIGURES.phaseDuration), buckets })
  const hookDuration = new Histogram({ ...base<'phase' | 'hook' | 'outcome'>(FIGURES.hookDuration), buckets })
  const hookFailures = new Counter(base<'phase' | 'hook' | 'outcome'>(FIGURES.hookFailures))
  const requestsRejected = new Counter(base(FIGURES.requestsRejected))
  const requestsForced = new Counter(base(FIGURES.requestsForced))
  const connectionsForced = new Counter(base(FIGURES.connectionsForced))

  const stop = followShutdown(controller, {
    phaseEnded: ({ phase, seconds }) => phaseDuration.observe({ phase }, seconds),
    closed: (report) => {
      const outcome = outcomeOf(report)
      shutdowns.inc({ trigger: triggerLabel(report.trigger), outcome })
      shutdownDuration.observe({ outcome }, report.durationMs / 1000)
      for (const hook of report.hooks) {
        const labels = { phase: hook.phase, hook: hook.name, outcome: hook.outcome }
        hookDuration.observe(labels, hook.durationMs / 1000)
        if (hook.outcome !== 'ok') hookFailures.inc(labels)
      }
      requestsRejected.inc(report.requests.rejected)
      requestsForced.inc(report.requests.forced)
      connectionsForced.inc(report.connections.forced)
    },
  })

  return {
    registry,
    names,
    remove: () => {
      stop()
      for (const name of names) registry.removeSingleMetric(name)
    },
  }
}

/**
 * A `node:http` request handler that answers with the registry's metrics in
 * the Prometheus text format. Mount it on the path you scrape (`/metrics`);
 * it answers whatever it is given. Works with Express as is, with Fastify
 * through `reply.hijack()` and `req.raw`/`reply.raw`, with Koa through
 * `ctx.respond = false` and `ctx.req`/`ctx.res`.
 */
export function metricsHandler(registry: Registry = defaultRegistry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('Method Not Allowed\n')
      return
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (error: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`)
      },
    )
  }
}
