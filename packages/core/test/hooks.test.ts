import { describe, expect, it } from 'vitest'
import { delay, systemClock } from '../src/clock.js'
import { HookTimeoutError, type LastcallError } from '../src/errors.js'
import { HookRunner } from '../src/shutdown/hooks.js'
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

describe('HookRunner outcomes on the fake clock', () => {
  const trigger = { type: 'manual', reason: 'test' } as const

  function setup(defaultTimeoutMs = 1000) {
    const clock = new FakeClock()
    const logged: { level: string; message: string }[] = []
    const runner = new HookRunner(DEFAULT_PHASES, defaultTimeoutMs, clock, (level, message) => {
      logged.push({ level, message })
    })
    runner.begin(0, 30_000)
    return { clock, runner, logged }
  }

  it('reports a hook that resolves in time as ok, with when it started and how long it took, and logs nothing bad', async () => {
    const { clock, runner, logged } = setup()
    await clock.advance(40)
    runner.add('pool', () => delay(clock, 250), { phase: 'stores' })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(250)
    await done
    expect(runner.results()).toEqual([{ name: 'pool', phase: 'stores', startMs: 40, durationMs: 250, outcome: 'ok' }])
    expect(runner.pending()).toEqual([])
    expect(logged.filter((l) => l.level === 'error')).toEqual([])
  })

  it('reports a hook that throws, rejects or throws a non-Error as error with its message, and the others still run', async () => {
    const { clock, runner, logged } = setup()
    runner.add('throws', () => {
      throw new Error('boom')
    })
    runner.add('rejects', () => Promise.reject(new Error('refused')))
    runner.add('throws-string', () => {
      throw 'plain string'
    })
    runner.add('fine', () => delay(clock, 10))
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(10)
    await done
    expect(runner.results().map((r) => [r.name, r.outcome, r.error])).toEqual([
      ['throws', 'error', 'boom'],
      ['rejects', 'error', 'refused'],
      ['throws-string', 'error', 'plain string'],
      ['fine', 'ok', undefined],
    ])
    expect(logged.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'shutdown hook throws failed: boom',
      'shutdown hook throws-string failed: plain string',
      'shutdown hook rejects failed: refused',
    ])
  })

  it('reports a hook still running at its timeout as timeout, aborts its signal with a HookTimeoutError, and ignores its late end', async () => {
    const { clock, runner, logged } = setup()
    let signal: AbortSignal | undefined
    let finishedLate = false
    runner.add('slow', async (context) => {
      signal = context.signal
      await delay(clock, 5000)
      finishedLate = true
    }, { timeoutMs: 300 })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(299)
    expect(signal!.aborted).toBe(false)
    expect(runner.results()[0]).toMatchObject({ outcome: 'pending' })
    await clock.advance(1)
    await done
    expect(signal!.aborted).toBe(true)
    expect(signal!.reason).toBeInstanceOf(HookTimeoutError)
    expect((signal!.reason as HookTimeoutError).code).toBe('LASTCALL_HOOK_TIMEOUT')
    const result = { name: 'slow', phase: 'default', startMs: 0, durationMs: 300, outcome: 'timeout', error: 'lastcall: shutdown hook "slow" did not finish within 300 ms' }
    expect(runner.results()).toEqual([result])
    expect(logged).toContainEqual({ level: 'error', message: 'shutdown hook slow timed out after 300 ms' })
    await clock.advance(5000)
    expect(finishedLate).toBe(true)
    expect(runner.results()).toEqual([result])
  })

  it("uses the controller's default timeout for a hook without its own", async () => {
    const { clock, runner } = setup(700)
    runner.add('hangs', () => new Promise(() => {}))
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(700)
    await done
    expect(runner.results()[0]).toMatchObject({ outcome: 'timeout', durationMs: 700 })
  })

  it('leaves running hooks pending when the whole shutdown is abandoned, aborting their signals with LASTCALL_SHUTDOWN_TIMEOUT', async () => {
    const { clock, runner } = setup()
    let signal: AbortSignal | undefined
    runner.add('done-before', () => {}, { phase: 'default' })
    runner.add('stuck', (context) => {
      signal = context.signal
      return new Promise(() => {})
    }, { phase: 'stores', timeoutMs: 10_000 })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(400)
    expect(runner.pending()).toEqual(['stuck'])
    runner.abandon()
    await clock.advance(0)
    expect(signal!.aborted).toBe(true)
    expect((signal!.reason as LastcallError).code).toBe('LASTCALL_SHUTDOWN_TIMEOUT')
    // The abandoned hook is reported as still running.
    expect(runner.results().map((r) => [r.name, r.outcome])).toEqual([['done-before', 'ok'], ['stuck', 'pending']])
    expect(runner.pending()).toEqual(['stuck'])
    void done
  })

  it('aborts running hooks with LASTCALL_SECOND_SIGNAL, naming the signal, when a second signal cut the shutdown', async () => {
    const { clock, runner } = setup()
    let signal: AbortSignal | undefined
    runner.add('stuck', (context) => {
      signal = context.signal
      return new Promise(() => {})
    }, { phase: 'default', timeoutMs: 10_000 })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(100)
    runner.abandon({ signal: 'SIGINT' })
    await clock.advance(0)
    expect(signal!.aborted).toBe(true)
    expect(signal!.reason).toMatchObject({ code: 'LASTCALL_SECOND_SIGNAL', message: expect.stringContaining('SIGINT') })
    expect(runner.pending()).toEqual(['stuck'])
    void done
  })

  it('reports an abandoned hook with the time it ran until abandoned, set at once (the report is built right after) and not growing after', async () => {
    const { clock, runner } = setup()
    runner.add('stuck', () => new Promise(() => {}), { phase: 'stores', timeoutMs: 10_000 })
    await clock.advance(100)
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(400)
    runner.abandon()
    expect(runner.results()).toEqual([{ name: 'stuck', phase: 'stores', startMs: 100, durationMs: 400, outcome: 'pending' }])
    await clock.advance(5000)
    await done
    expect(runner.results()[0]).toMatchObject({ durationMs: 400, outcome: 'pending' })
  })

  it('starts no phase after abandon(): the phases left never run their hooks, and the run ends', async () => {
    const { clock, runner } = setup()
    const ran: string[] = []
    runner.add('consumer', () => {
      ran.push('consumer')
      return new Promise(() => {})
    }, { phase: 'default', timeoutMs: 10_000 })
    runner.add('pg', () => void ran.push('pg'), { phase: 'stores' })
    runner.add('otel', () => void ran.push('otel'), { phase: 'telemetry' })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(300)
    runner.abandon()
    await done
    await clock.advance(20_000)
    expect(ran).toEqual(['consumer'])
    expect(runner.results().map((r) => [r.name, r.outcome, r.durationMs])).toEqual([['consumer', 'pending', 300]])
    // A phase asked for afterwards (the drain's, a cleanup phase run by hand) does not start either.
    await runner.runPhase('stores', trigger)
    expect(ran).toEqual(['consumer'])
  })

  it("cuts a hook at the shutdown's timeoutMs (the overall bound) through abandon(), while hooks that already ended keep their outcome", async () => {
    const clock = new FakeClock()
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, () => {})
    runner.begin(0, 1000)
    const deadlines: number[] = []
    runner.add('fails', () => Promise.reject(new Error('refused')), { phase: 'default' })
    runner.add('slow', (context) => {
      deadlines.push(context.deadline)
      return new Promise(() => {})
    }, { phase: 'default' })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(1000)
    // What the shutdown does when its timeoutMs fires.
    runner.abandon()
    await done
    expect(deadlines).toEqual([1000])
    expect(runner.results().map((r) => [r.name, r.outcome, r.durationMs, r.error])).toEqual([
      ['fails', 'error', 0, 'refused'],
      ['slow', 'pending', 1000, undefined],
    ])
  })

  it('reports a hook that returns after blocking past its timeout (its timer could not fire) as timeout with its real duration', async () => {
    const fake = new FakeClock()
    let blocked = 0
    // Synchronous work moves the time the clock reads without letting any timer fire.
    const clock = { now: () => fake.now() + blocked, setTimeout: fake.setTimeout.bind(fake), clearTimeout: fake.clearTimeout.bind(fake) }
    const logged: string[] = []
    const runner = new HookRunner(DEFAULT_PHASES, 5000, clock, (_level, message) => logged.push(message))
    runner.begin(0)
    runner.add('blocker', () => {
      blocked += 120
    }, { timeoutMs: 30 })
    runner.add('within-granularity', () => {
      blocked += 30.9
    }, { phase: 'stores', timeoutMs: 30 })
    await runner.runFrom('cleanup', trigger)
    const [blocker, edge] = runner.results()
    expect(blocker).toEqual({
      name: 'blocker', phase: 'default', startMs: 0, durationMs: 120, outcome: 'timeout',
      error: 'lastcall: shutdown hook "blocker" did not finish within 30 ms: it returned after 120 ms (it blocked the event loop past its timeout)',
    })
    expect(logged).toContain('shutdown hook blocker returned after 120 ms, past its timeout of 30 ms')
    // Less than a whole millisecond over is clock granularity, not an overrun.
    expect(edge).toMatchObject({ name: 'within-granularity', outcome: 'ok' })
  })

  it('runs the phases that start together one after another and the hooks of one phase side by side', async () => {
    const { clock, runner } = setup()
    const events: string[] = []
    const hook = (name: string, ms: number) => async () => {
      events.push(`${name} start @${clock.now()}`)
      await delay(clock, ms)
      events.push(`${name} end @${clock.now()}`)
    }
    runner.add('queue', hook('queue', 100), { phase: 'default' })
    runner.add('worker', hook('worker', 50), { phase: 'default' })
    runner.add('pg', hook('pg', 10), { phase: 'stores' })
    runner.add('logs', hook('logs', 10), { phase: 'telemetry' })
    const done = runner.runFrom('cleanup', trigger)
    await clock.advance(200)
    await done
    expect(events).toEqual([
      'queue start @0', 'worker start @0', 'worker end @50', 'queue end @100',
      'pg start @100', 'pg end @110', 'logs start @110', 'logs end @120',
    ])
  })

  it("starts a phase's timeoutMs when the phase starts, not when the shutdown does", async () => {
    const clock = new FakeClock()
    const phases = [{ name: 'default', start: 'cleanup' }, { name: 'stores', start: 'cleanup', timeoutMs: 200 }] as const
    const phased = new HookRunner(phases, 5000, clock, () => {})
    phased.begin(0, 30_000)
    const deadlines: number[] = []
    phased.add('first', () => delay(clock, 500), { phase: 'default' })
    phased.add('pg', (context) => {
      deadlines.push(context.deadline)
      return new Promise(() => {})
    }, { phase: 'stores' })
    const done = phased.runFrom('cleanup', trigger)
    await clock.advance(700)
    await done
    expect(deadlines).toEqual([700])
    expect(phased.results().map((r) => [r.name, r.outcome, r.startMs, r.durationMs])).toEqual([['first', 'ok', 0, 500], ['pg', 'timeout', 500, 200]])
  })

  it('refuses a hook for a phase that has already started', async () => {
    const { runner } = setup()
    await runner.runFrom('cleanup', trigger)
    expect(() => runner.add('late', () => {}, { phase: 'stores' })).toThrow(/phase "stores" has already started/)
  })
})

describe('HookResult detail', () => {
  it('keeps a non-empty string a hook returns as its detail and prints it on its report line; other values are left out', async () => {
    const { createShutdown } = await import('../src/controller.js')
    const { formatReport } = await import('../src/shutdown/report.js')
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, platform: false, onCrash: false, readinessDelayMs: 0 })
    shutdown.onShutdown('counted', () => '3 closed, 0 forced')
    shutdown.onShutdown('empty', () => '')
    shutdown.onShutdown('object', () => ({ detail: 'not a string' }))
    const report = await shutdown.shutdown('test')
    expect(report.hooks.find((h) => h.name === 'counted')).toMatchObject({ outcome: 'ok', detail: '3 closed, 0 forced' })
    expect(report.hooks.find((h) => h.name === 'empty')!.detail).toBeUndefined()
    expect(report.hooks.find((h) => h.name === 'object')!.detail).toBeUndefined()
    expect(formatReport(report)).toMatch(/\[\+\] default\/counted ok in \d+ ms: 3 closed, 0 forced/)
  })
})
