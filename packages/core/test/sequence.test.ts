// The shutdown sequence on its own: a Drainable the test controls, the real
// HookRunner and report, a fake clock. No controller, no servers.
import { describe, expect, it } from 'vitest'
import { resolveOptions, type ShutdownOptions } from '../src/options.js'
import { HookRunner } from '../src/shutdown/hooks.js'
import type { ShutdownState } from '../src/shutdown/lifecycle.js'
import type { ShutdownReport } from '../src/shutdown/report.js'
import { runShutdown, type Drainable, type SequenceParts } from '../src/shutdown/sequence.js'
import { FakeClock } from './fakeClock.js'

/** A drain that ends when the test says so, and records what the sequence asked of it. */
class ControlledDrain implements Drainable {
  inFlight = 0
  open = 0
  readonly requests: Drainable['requests'] = { inFlightAtDrain: 0, arrivedDuringShutdown: 3, completed: 3, rejected: 0, aborted: 0, forced: 0, timedOut: 0 }
  readonly connections: Drainable['connections'] = { openAtDrain: 2, closedIdle: 1, closedAfterResponse: 1, closedByClient: 0, forced: 0, byKind: { http1: 2, h2: 0, upgraded: 0 } }
  readonly calls: string[] = []
  #end!: () => void

  get idle(): boolean {
    return this.open === 0
  }

  leaving(): void {
    this.calls.push('leaving')
  }

  drain(): Promise<void> {
    this.calls.push('drain')
    return new Promise((resolve) => (this.#end = resolve))
  }

  force(): void {
    this.calls.push('force')
    this.open = 0
    this.inFlight = 0
    this.#end?.()
  }

  finish(): void {
    this.#end()
  }
}

function start(options: ShutdownOptions, drainable = new ControlledDrain()) {
  const clock = new FakeClock()
  const resolved = resolveOptions({ logger: false, signals: [], platform: false, ...options }, 'linux', {})
  const hooks = new HookRunner(resolved.phases, resolved.hookTimeoutMs, clock, () => {})
  const states: string[] = []
  const exits: Array<[number, boolean]> = []
  let state: ShutdownState = 'serving'
  let closed: ShutdownReport | undefined
  const parts: SequenceParts = {
    options: resolved,
    clock,
    log: () => {},
    drainable,
    hooks,
    adaptive: undefined,
    drainSignal: new AbortController(),
    state: () => state,
    enter: (next) => {
      state = next
      states.push(next)
    },
    crash: () => undefined,
    notifyStopping: () => states.push('notified'),
    closed: (report) => (closed = report),
    exit: (code, cut) => exits.push([code, cut]),
  }
  return { clock, hooks, drainable, states, exits, parts, closed: () => closed }
}

describe('shutdown sequence (shutdown/sequence.ts)', () => {
  it('runs leaving → draining → closing → closed in order, the drain signal aborting at the drain, and exits 0', async () => {
    const t = start({ readinessDelayMs: 1000, drainTimeoutMs: 5000, timeoutMs: 20_000 })
    const order: string[] = []
    t.hooks.add('deregister', () => void order.push(`deregister@${t.clock.now()}`), { phase: 'deregister' })
    t.hooks.add('pool', () => void order.push(`pool@${t.clock.now()}`), { phase: 'stores' })
    const running = runShutdown(t.parts, { type: 'manual', reason: 'test' }, false)
    expect(t.states).toEqual(['notified', 'leaving'])
    expect(t.drainable.calls).toEqual(['leaving'])
    expect(t.parts.drainSignal.signal.aborted).toBe(false)

    await t.clock.advance(999)
    expect(t.states.at(-1)).toBe('leaving')
    await t.clock.advance(1)
    expect(t.states.at(-1)).toBe('draining')
    expect(t.parts.drainSignal.signal.aborted).toBe(true)
    expect(t.drainable.calls).toEqual(['leaving', 'drain'])
    expect(order).toEqual(['deregister@0'])

    t.drainable.finish()
    const report = await running.done
    expect(t.states).toEqual(['notified', 'leaving', 'draining', 'closing', 'closed'])
    expect(order).toEqual(['deregister@0', 'pool@1000'])
    expect(report.exitCode).toBe(0)
    expect(report.readinessDelay).toEqual({ durationMs: 1000, rule: 'fixed' })
    expect(report.timeline.map((p) => [p.state, p.offsetMs])).toEqual([['leaving', 0], ['draining', 1000], ['closing', 1000], ['closed', 1000]])
    expect(t.closed()).toBe(report)
    expect(t.exits).toEqual([[0, false]])
  })

  it('forces what is left at drainTimeoutMs and exits 1', async () => {
    const drainable = new ControlledDrain()
    drainable.open = 2
    drainable.inFlight = 1
    const t = start({ readinessDelayMs: 0, drainTimeoutMs: 3000, timeoutMs: 20_000 }, drainable)
    const running = runShutdown(t.parts, { type: 'signal', signal: 'SIGTERM' }, false)
    await t.clock.advance(2999)
    expect(drainable.calls).toEqual(['leaving', 'drain'])
    drainable.requests.forced = 1
    await t.clock.advance(1)
    expect(drainable.calls).toEqual(['leaving', 'drain', 'force'])
    const report = await running.done
    expect(report.exitCode).toBe(1)
    expect(t.exits).toEqual([[1, false]])
  })

  it('ends at timeoutMs wherever it is, listing what was pending, and exits 1', async () => {
    const t = start({ readinessDelayMs: 0, drainTimeoutMs: 1000, timeoutMs: 5000 })
    t.hooks.add('stuck', () => new Promise(() => {}), { phase: 'stores', timeoutMs: 60_000 })
    const running = runShutdown(t.parts, { type: 'manual', reason: 'test' }, false)
    t.drainable.finish()
    await t.clock.advance(5000)
    const report = await running.done
    expect(report.timedOut).toBe(true)
    expect(report.pending).toContain('hook stuck')
    expect(report.exitCode).toBe(1)
    expect(t.states.at(-1)).toBe('closed')
  })

  it('a cut (second signal) finishes the report at once and exits with its code, marked as cut', async () => {
    const drainable = new ControlledDrain()
    drainable.open = 1
    const t = start({ readinessDelayMs: 0, drainTimeoutMs: 10_000, timeoutMs: 20_000 }, drainable)
    const running = runShutdown(t.parts, { type: 'signal', signal: 'SIGTERM' }, false)
    await t.clock.advance(10)
    running.cut('SIGINT', 130)
    const report = await running.done
    expect(report.secondSignal).toBe('SIGINT')
    expect(report.pending).toContain('1 connections')
    expect(drainable.calls).toContain('force')
    expect(t.exits).toEqual([[130, true]])
    // Cutting again, or the deadline firing later, changes nothing.
    running.cut('SIGINT', 130)
    await t.clock.advance(20_000)
    expect(t.exits).toEqual([[130, true]])
  })

  it('skips the readiness delay when asked (a host that already stopped routing here)', async () => {
    const t = start({ readinessDelayMs: 5000 })
    const running = runShutdown(t.parts, { type: 'manual', reason: 'app.close()' }, true)
    await t.clock.advance(0)
    expect(t.states.at(-1)).toBe('draining')
    t.drainable.finish()
    expect((await running.done).readinessDelay).toEqual({ durationMs: 0, rule: 'none' })
  })
})
