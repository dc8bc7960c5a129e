import { describe, expect, it } from 'vitest'
import { AdaptiveDelay, type DelayDecision, type DelayRule } from '../src/readinessDelay.js'
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
