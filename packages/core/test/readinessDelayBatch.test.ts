import { describe, expect, it } from 'vitest'
import { AdaptiveDelay, type DelayRule } from '../src/readiness/readinessDelay.js'
import { FakeClock } from './fakeClock.js'

/** A FakeClock that counts how often it is read. */
class CountingClock extends FakeClock {
  reads = 0
  override now(): number {
    this.reads++
    return super.now()
  }
}

function setup() {
  const clock = new CountingClock()
  const delay = new AdaptiveDelay({ clock, log: () => {}, minMs: 0, maxMs: 30_000, kubernetes: false, emit: () => {} })
  let result: { rule: DelayRule; at: number } | undefined
  const start = () => {
    const t0 = clock.now()
    void delay.wait(t0, new AbortController().signal).then((rule) => (result = { rule, at: clock.now() - t0 }))
  }
  const traffic = async (gap: number, duration: number) => {
    for (let t = 0; t < duration; t += gap) {
      delay.observeRequest()
      await clock.advance(gap)
    }
  }
  return { clock, delay, start, traffic, result: () => result }
}

describe('AdaptiveDelay on the request path', () => {
  it('reads the clock once per batch of busy requests', async () => {
    const s = setup()
    // 1,000 requests/s for 10 s: batches of 64.
    await s.traffic(1, 10_000)
    expect(s.clock.reads).toBeLessThan(10_000 / 50)
    expect(s.delay.quietWindowMs()).toBe(500)
  })

  it('never reads the clock on the request path in normal operation: sparse traffic is timed by the batch timer, 100 ms late at most', async () => {
    const s = setup()
    s.delay.observeRequest()
    expect(s.clock.reads).toBe(0)
    await s.clock.advance(99)
    expect(s.clock.reads).toBe(0)
    await s.clock.advance(1)
    expect(s.clock.reads).toBe(1)
    // Nothing more to read: no timer is left running.
    expect(s.clock.pending()).toBe(0)
  })

  it('times every request of sparse traffic through the timer, and every request on the request path once the delay has begun', async () => {
    const s = setup()
    await s.traffic(200, 2000)
    expect(s.clock.reads).toBe(10)
    expect(s.delay.quietWindowMs()).toBe(600)
    s.start()
    const before = s.clock.reads
    await s.traffic(1, 100)
    expect(s.clock.reads - before).toBeGreaterThanOrEqual(100)
  })

  it('learns a slowdown hidden in an unread batch when the delay begins, and waits a quiet window from the start', async () => {
    const s = setup()
    await s.traffic(1, 1000) // busy: batches of 64
    await s.traffic(400, 6000) // then 15 requests 400 ms apart, fewer than a batch
    s.start()
    // The batch hid the slowdown: the estimate learnt it as one long gap, so the quiet window is above its floor ...
    expect(s.delay.quietWindowMs()).toBeGreaterThan(1000)
    await s.clock.advance(s.delay.quietWindowMs() - 1)
    // ... and the unread requests count as traffic up to the start: one quiet window from there.
    expect(s.result()).toBeUndefined()
    await s.clock.advance(1)
    expect(s.result()?.rule).toBe('quiet')
  })
})
