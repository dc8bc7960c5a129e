import { describe, expect, it } from 'vitest'
import { delay, systemClock } from '../src/clock.js'
import { HookRunner } from '../src/hooks.js'
import { DEFAULT_PHASES } from '../src/options.js'
import { FakeClock } from './fakeClock.js'

describe('HookRunner', () => {
  it('reports times so that a hook starting after another ended never shows an earlier start (rounding)', async () => {
    const clock = new FakeClock()
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, () => {})
    runner.begin(0)
    await clock.advance(0.6)
    // 'pool' starts the instant 'worker' ends, at 1.4 ms: rounding start and
    // duration each on their own would give worker 1 + 1 = 2 and pool 1.
    runner.add('worker', () => delay(clock, 0.8), { phase: 'default' })
    runner.add('pool', () => {}, { phase: 'stores' })
    const done = runner.runFrom('cleanup', { type: 'manual', reason: 'test' })
    await clock.advance(1)
    await done
    const [worker, pool] = runner.results()
    expect(worker).toMatchObject({ name: 'worker', startMs: 1, outcome: 'ok' })
    expect(pool!.startMs).toBeGreaterThanOrEqual(worker!.startMs + worker!.durationMs)
  })
})

describe('HookContext deadline', () => {
  const trigger = { type: 'manual', reason: 'test' } as const

  it('gives each hook its own timeout as deadline and timeLeftMs, counting down with the clock', async () => {
    const clock = new FakeClock()
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, () => {})
    runner.begin(0, 30_000)
    await clock.advance(100)
    const seen: { deadline: number; left: number[] }[] = []
    runner.add('consumer', async (context) => {
      const mine = { deadline: context.deadline, left: [context.timeLeftMs] }
      seen.push(mine)
      await delay(clock, 1500)
      mine.left.push(context.timeLeftMs)
    }, { phase: 'intake', timeoutMs: 2000 })
    const done = runner.runFrom('drain', trigger)
    await clock.advance(2000)
    await done
    expect(seen).toEqual([{ deadline: 2100, left: [2000, 500] }])
    expect(runner.results()[0]).toMatchObject({ outcome: 'ok' })
  })

  it("is cut short by the shutdown's timeoutMs when that comes first", async () => {
    const clock = new FakeClock()
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, () => {})
    runner.begin(0, 3000)
    await clock.advance(1000)
    let left = -1
    let deadline = -1
    runner.add('pool', (context) => {
      left = context.timeLeftMs
      deadline = context.deadline
    }, { phase: 'stores' })
    await runner.runFrom('cleanup', trigger)
    expect({ left, deadline }).toEqual({ left: 2000, deadline: 3000 })
  })

  it("bounds every hook of a phase by the phase's own timeoutMs, reported as the hook's timeout", async () => {
    const clock = new FakeClock()
    const phases = [{ name: 'intake', start: 'drain', timeoutMs: 800 }, { name: 'stores', start: 'cleanup' }] as const
    const runner = new HookRunner(phases, 5000, clock, () => {})
    runner.begin(0, 30_000)
    const contexts: { name: string; deadline: number; aborted: () => boolean }[] = []
    const hang = (name: string) => (context: { deadline: number; signal: AbortSignal }) => {
      contexts.push({ name, deadline: context.deadline, aborted: () => context.signal.aborted })
      return new Promise(() => {})
    }
    runner.add('kafka', hang('kafka'), { phase: 'intake', timeoutMs: 2000 })
    runner.add('sqs', hang('sqs'), { phase: 'intake', timeoutMs: 500 })
    runner.add('pg', () => {}, { phase: 'stores' })
    const done = runner.runFrom('drain', trigger)
    await clock.advance(799)
    expect(contexts.map((c) => [c.name, c.deadline, c.aborted()])).toEqual([['kafka', 800, false], ['sqs', 500, true]])
    await clock.advance(1)
    await done
    expect(contexts[0]!.aborted()).toBe(true)
    expect(runner.results().map((r) => [r.name, r.outcome, r.durationMs, r.error])).toEqual([
      ['kafka', 'timeout', 800, 'lastcall: shutdown hook "kafka" did not finish within 800 ms'],
      ['sqs', 'timeout', 500, 'lastcall: shutdown hook "sqs" did not finish within 500 ms'],
    ])
  })

  it('never reports less than 0 ms left', async () => {
    const clock = new FakeClock()
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, () => {})
    runner.begin(0, 1000)
    let context: { timeLeftMs: number } | undefined
    runner.add('late', (c) => {
      context = c
    }, { phase: 'stores' })
    await clock.advance(1500)
    await runner.runFrom('cleanup', trigger)
    expect(context!.timeLeftMs).toBe(0)
  })
})

describe('HookRunner outcomes', () => {
  it('reports a hook that blocks the event loop past its timeout as timed out, with its real duration', async () => {
    const runner = new HookRunner(DEFAULT_PHASES, 5000, systemClock, () => {})
    runner.begin(systemClock.now())
    runner.add('blocker', () => {
      const until = performance.now() + 120
      while (performance.now() < until) {
        // Synchronous work: the timeout's timer cannot fire meanwhile.
      }
    }, { timeoutMs: 30 })
    runner.add('quick', () => {}, { phase: 'stores', timeoutMs: 30 })
    await runner.runFrom('cleanup', { type: 'manual', reason: 'test' })
    const [blocker, quick] = runner.results()
    expect(blocker).toMatchObject({ name: 'blocker', outcome: 'timeout' })
    expect(blocker!.durationMs).toBeGreaterThanOrEqual(120)
    expect(blocker!.error).toMatch(/^lastcall: shutdown hook "blocker" did not finish within 30 ms: it returned after \d+ ms \(it blocked the event loop past its timeout\)$/)
    expect(quick).toMatchObject({ name: 'quick', outcome: 'ok' })
  })
})
