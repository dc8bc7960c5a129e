import { describe, expect, it } from 'vitest'
import { AdaptiveDelay, MAX_CANDIDATES, MAX_PROBERS, MAX_USER_AGENT_CHARS, proberKey, type DelayDecision, type DelayRule } from '../src/readiness/readinessDelay.js'
import { FakeClock } from './fakeClock.js'

function setup({ minMs = 0, maxMs = 10_000, kubernetes = false } = {}) {
  const clock = new FakeClock()
  const decisions: DelayDecision[] = []
  const delay = new AdaptiveDelay({ clock, log: () => {}, minMs, maxMs, kubernetes, emit: (d) => decisions.push(d) })
  let result: { rule: DelayRule; at: number } | undefined
  const start = (abort = new AbortController()) => {
    const t0 = clock.now()
    void delay.wait(t0, abort.signal).then((rule) => (result = { rule, at: clock.now() - t0 }))
    return t0
  }
  /** Sends requests every `gap` ms for `duration` ms. */
  const traffic = async (gap: number, duration: number) => {
    for (let t = 0; t < duration; t += gap) {
      delay.observeRequest()
      await clock.advance(gap)
    }
  }
  return { clock, delay, decisions, start, traffic, result: () => result }
}

describe('AdaptiveDelay', () => {
  it('ends at once with no traffic and no prober (a laptop, a test)', async () => {
    const s = setup()
    s.start()
    await s.clock.advance(0)
    expect(s.result()).toEqual({ rule: 'quiet', at: 0 })
  })

  it('under Kubernetes waits the minimum even with no evidence', async () => {
    const s = setup({ minMs: 5000, kubernetes: true })
    s.start()
    await s.clock.advance(4999)
    expect(s.result()).toBeUndefined()
    await s.clock.advance(1)
    expect(s.result()).toEqual({ rule: 'min', at: 5000 })
  })

  it('keeps serving while busy traffic still arrives, and ends one quiet window after it stops', async () => {
    const s = setup()
    await s.traffic(10, 2000) // 100 req/s before the shutdown
    expect(s.delay.quietWindowMs()).toBe(500)
    s.start()
    await s.traffic(10, 3000) // the balancer still routes here for 3 s
    expect(s.result()).toBeUndefined()
    // The last request arrived at 2990 ms.
    await s.clock.advance(489)
    expect(s.result()).toBeUndefined()
    await s.clock.advance(1)
    expect(s.result()).toEqual({ rule: 'quiet', at: 3490 })
  })

  it('waits for every recent prober to be answered "not ready" before trusting a quiet spell', async () => {
    const s = setup()
    // HAProxy-like prober every 2 s, no application traffic at all.
    for (let i = 0; i < 3; i++) {
      s.delay.observeProbe('127.0.0.1 haproxy', true)
      await s.clock.advance(2000)
    }
    s.start()
    await s.clock.advance(1500)
    expect(s.result()).toBeUndefined()
    s.delay.observeProbe('127.0.0.1 haproxy', false)
    await s.clock.advance(0)
    expect(s.result()).toEqual({ rule: 'quiet', at: 1500 })
    expect(s.decisions.find((d) => d.type === 'probe-answered')).toMatchObject({ prober: '127.0.0.1 haproxy', atMs: 1500, probersPending: 0 })
  })

  it('stops waiting for a prober that went silent for three of its intervals', async () => {
    const s = setup()
    for (let i = 0; i < 3; i++) {
      s.delay.observeProbe('lb', true)
      await s.clock.advance(1000)
    }
    s.start()
    await s.clock.advance(1900)
    expect(s.result()).toBeUndefined()
    await s.clock.advance(200)
    expect(s.result()?.rule).toBe('quiet')
  })

  it('does not wait for a prober seen only once (a curl, a test waiting for readiness)', async () => {
    const s = setup()
    s.delay.observeProbe('curl', true)
    s.start()
    await s.clock.advance(0)
    expect(s.result()).toEqual({ rule: 'quiet', at: 0 })
  })

  it('ignores probers under Kubernetes, where endpoints follow pod deletion, not readiness', async () => {
    const s = setup({ kubernetes: true, minMs: 1000 })
    s.delay.observeProbe('kubelet', true)
    await s.clock.advance(1000)
    s.delay.observeProbe('kubelet', true)
    s.start()
    await s.clock.advance(1000)
    expect(s.result()).toEqual({ rule: 'min', at: 1000 })
  })

  it('gives sparse traffic a longer quiet window than busy traffic', async () => {
    const s = setup({ maxMs: 30_000 })
    await s.traffic(3000, 30_000) // a request every 3 s
    expect(s.delay.quietWindowMs()).toBe(9000)
    s.start()
    await s.clock.advance(8000)
    expect(s.result()).toBeUndefined()
    await s.clock.advance(2000)
    expect(s.result()?.rule).toBe('quiet')
  })

  it('never waits longer than the maximum', async () => {
    const s = setup({ maxMs: 4000 })
    await s.traffic(10, 1000)
    s.start()
    await s.traffic(10, 6000)
    expect(s.result()).toEqual({ rule: 'max', at: 4000 })
  })

  it('rejects when the shutdown gives up during the delay', async () => {
    const s = setup({ minMs: 5000, kubernetes: true })
    const abort = new AbortController()
    const waiting = s.delay.wait(s.clock.now(), abort.signal)
    abort.abort(new Error('timed out'))
    await expect(waiting).rejects.toThrow('timed out')
  })
})

describe('AdaptiveDelay under a probe flood', () => {
  it('keys a prober by its address and at most 128 characters of its User-Agent', () => {
    expect(proberKey('10.0.0.7', 'x'.repeat(8192))).toBe(`10.0.0.7 ${'x'.repeat(MAX_USER_AGENT_CHARS)}`)
    expect(proberKey('10.0.0.7', 'kube-probe/1.30')).toBe('10.0.0.7 kube-probe/1.30')
    expect(proberKey('10.0.0.7', undefined)).toBe('10.0.0.7')
  })

  it('remembers a bounded number of sources whatever a single client sends', async () => {
    const s = setup()
    for (let i = 0; i < 15_000; i++) {
      s.delay.observeProbe(proberKey('203.0.113.9', `${i}${'x'.repeat(8192)}`), true)
      // Every other source probes twice: it becomes a prober, which the table also bounds.
      if (i % 2 === 0) s.delay.observeProbe(proberKey('203.0.113.9', `${i}${'x'.repeat(8192)}`), true)
      if (i % 100 === 0) await s.clock.advance(1)
    }
    expect(s.delay.sources).toBeLessThanOrEqual(MAX_PROBERS + MAX_CANDIDATES)
  })

  it('still waits for a balancer it knew before the flood, and ends when it is answered "not ready"', async () => {
    const s = setup()
    for (let i = 0; i < 3; i++) {
      s.delay.observeProbe('10.0.0.2 haproxy', true)
      await s.clock.advance(1000)
    }
    // A flood of sources that each probe twice, a millisecond apart: they fill the table of probers.
    for (let i = 0; i < 5000; i++) {
      s.delay.observeProbe(`203.0.113.9 flood-${i}`, true)
      s.delay.observeProbe(`203.0.113.9 flood-${i}`, true)
      if (i % 50 === 0) await s.clock.advance(1)
    }
    s.start()
    await s.clock.advance(1000)
    expect(s.result()).toBeUndefined()
    s.delay.observeProbe('10.0.0.2 haproxy', false)
    await s.clock.advance(0)
    expect(s.result()?.rule).toBe('quiet')
    expect(s.decisions.find((d) => d.type === 'probe-answered')).toMatchObject({ prober: '10.0.0.2 haproxy', probersPending: 0 })
  })
})
