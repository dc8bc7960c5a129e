import { createServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown, type ShutdownReport } from '../src/index.js'
import type { DelayDecision } from '../src/readiness/readinessDelay.js'
import { keepAliveAgent, listen, send, type Outcome } from './helpers.js'

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

async function serve(options: Parameters<typeof createShutdown>[0] = {}) {
  const shutdown = createShutdown({ signals: [], exit: false, logger: false, ...options })
  const arrivals: number[] = []
  const server = createServer(shutdown.handler((_req, res) => {
    arrivals.push(performance.now())
    res.end('ok')
  }))
  shutdown.attach(server)
  cleanup.push(() => server.closeAllConnections(), () => server.close())
  const port = await listen(server)
  const decisions: DelayDecision[] = []
  shutdown.on('delay', (d) => decisions.push(d))
  let drainAt = 0
  shutdown.on('state', (s) => {
    if (s === 'draining') drainAt = performance.now()
  })
  return { shutdown, port, arrivals, decisions, drainAt: () => drainAt }
}

describe("readinessDelayMs: 'auto'", () => {
  it('keeps serving until a load balancer that saw "not ready" stops sending, then drains one quiet window later', async () => {
    const s = await serve()
    const agent = keepAliveAgent(false, 4)
    const probeAgent = keepAliveAgent(false, 1)
    cleanup.push(() => agent.destroy(), () => probeAgent.destroy())
    // A tiny load balancer: it probes /readyz and routes traffic here until a probe fails (fall 1).
    let markedDown = false
    let stop = false
    const prober = (async () => {
      for (let i = 0; i < 500 && !stop; i++) {
        const r = await send(s.port, '/readyz', { agent: probeAgent, headers: { 'user-agent': 'test-lb' } })
        if (r.ok && r.reply.status === 503) markedDown = true
        if (!r.ok) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    const outcomes: Outcome[] = []
    const traffic = (async () => {
      for (let i = 0; i < 20_000 && !markedDown; i++) outcomes.push(await send(s.port, '/', { agent }))
    })()
    // Let it learn the traffic and the prober, then shut down mid-load.
    while (s.arrivals.length < 200) await new Promise((resolve) => setImmediate(resolve))
    const report: ShutdownReport = await s.shutdown.shutdown('rollout')
    stop = true
    await Promise.all([prober, traffic])
    expect(outcomes.filter((o) => !o.ok)).toEqual([])
    expect(report.readinessDelay.rule).toBe('quiet')
    expect(s.decisions.some((d) => d.type === 'probe-answered' && d.prober === '127.0.0.1 test-lb')).toBe(true)
    // The drain began only after the last request routed here, and at least one quiet window after it.
    const last = Math.max(...s.arrivals)
    expect(s.drainAt() - last).toBeGreaterThanOrEqual(report.readinessDelay.quietWindowMs! - 2)
    expect(report.exitCode).toBe(0)
  })

  it('ends almost at once with no prober and no recent traffic', async () => {
    const s = await serve()
    const report = await s.shutdown.shutdown()
    expect(report.readinessDelay.rule).toBe('quiet')
    expect(report.readinessDelay.durationMs).toBeLessThan(100)
  })

  it('stops at readinessDelayMaxMs when traffic never stops', async () => {
    const s = await serve({ readinessDelayMaxMs: 300 })
    const agent = keepAliveAgent(false, 2)
    cleanup.push(() => agent.destroy())
    let stop = false
    const traffic = (async () => {
      for (let i = 0; i < 20_000 && !stop; i++) await send(s.port, '/', { agent })
    })()
    while (s.arrivals.length < 50) await new Promise((resolve) => setImmediate(resolve))
    const report = await s.shutdown.shutdown()
    stop = true
    await traffic
    expect(report.readinessDelay.rule).toBe('max')
    expect(report.readinessDelay.durationMs).toBeGreaterThanOrEqual(299)
  })

  it('waits the Kubernetes minimum even when nothing is seen', async () => {
    const s = await serve({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, readinessDelayMinMs: 200 })
    const report = await s.shutdown.shutdown()
    expect(report.readinessDelay.rule).toBe('min')
    expect(report.readinessDelay.durationMs).toBeGreaterThanOrEqual(199)
  })
})
