import { describe, expect, it } from 'vitest'
import { delay } from '../src/clock.js'
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
