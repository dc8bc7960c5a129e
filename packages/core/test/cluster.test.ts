import { afterEach, describe, expect, it } from 'vitest'
import { clusterPrimary, LastcallOptionError } from '../src/index.js'
import { send, startFixture, type Fixture } from './helpers.js'

const running: Fixture[] = []
afterEach(() => {
  for (const f of running.splice(0)) {
    f.kill()
    // Workers exit when the primary's IPC channel closes; kill them too in case one does not.
    for (const e of f.events) {
      if (e.event !== 'worker-listening') continue
      try {
        process.kill(e.pid as number, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
})

async function start(config: unknown): Promise<Fixture> {
  const fixture = await startFixture('cluster-app.ts', config)
  running.push(fixture)
  return fixture
}

/**
 * One request per worker held until that worker's drain starts, each on its
 * own connection (round-robin hands them to different workers).
 */
async function heldOnEachWorker(f: Fixture): Promise<Array<Promise<Awaited<ReturnType<typeof send>>>>> {
  const first = send(f.ports[0]!, '/held', { agent: false })
  await f.waitFor((e) => e.event === 'request')
  const second = send(f.ports[0]!, '/held', { agent: false })
  await f.waitFor((e) => e.event === 'request' && e.pid !== f.events.find((x) => x.event === 'request')!.pid)
  return [first, second]
}

const reports = (f: Fixture) => f.events.filter((e) => e.event === 'report')

describe('clusterPrimary (real cluster workers)', () => {
  it('on SIGTERM tells every worker to drain, their in-flight requests complete, and it exits 0 after the last worker', async () => {
    const f = await start({ workers: 2, primary: { timeoutMs: 10_000 }, worker: { readinessDelayMs: 0, drainTimeoutMs: 5000 } })
    const pending = await heldOnEachWorker(f)
    process.kill(f.child.pid!, 'SIGTERM')
    const outcomes = await Promise.all(pending)
    for (const o of outcomes) expect(o.ok && o.reply.status).toBe(200)
    expect(new Set(outcomes.map((o) => o.ok && o.reply.body)).size).toBe(2)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(f.events.find((e) => e.event === 'primary-exit')).toEqual({ event: 'primary-exit', code: 0 })
    const r = reports(f)
    expect(r).toHaveLength(2)
    for (const { report } of r) {
      expect(report).toMatchObject({ trigger: { type: 'message', message: 'shutdown' }, exitCode: 0, requests: { completed: 1, forced: 0 } })
    }
  })

  it('exits 1 when a worker fails its shutdown, after waiting for every worker', async () => {
    const f = await start({ workers: 2, failingWorkers: [1], primary: { timeoutMs: 10_000 }, worker: { readinessDelayMs: 0 } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    const codes = reports(f).map((e) => [e.id, e.report.exitCode]).sort()
    expect(codes).toEqual([[1, 1], [2, 0]])
  })

  it('kills workers still running at timeoutMs and exits 1', async () => {
    const f = await start({ workers: 2, primary: { timeoutMs: 800 }, worker: { readinessDelayMs: 0, drainTimeoutMs: 20_000, timeoutMs: 30_000 } })
    const hung = send(f.ports[0]!, '/hang', { agent: false })
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect((await hung).ok).toBe(false)
    // The worker without a request drained and reported; the hung one was killed before it could.
    expect(reports(f)).toHaveLength(1)
  })

  it("sends a signal instead of the message with notifyWorkers: 'SIGTERM'", async () => {
    const f = await start({ workers: 2, primary: { timeoutMs: 10_000, notifyWorkers: 'SIGTERM' }, worker: { readinessDelayMs: 0, drainTimeoutMs: 5000 } })
    const pending = await heldOnEachWorker(f)
    process.kill(f.child.pid!, 'SIGTERM')
    for (const o of await Promise.all(pending)) expect(o.ok && o.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(reports(f).map((e) => e.report.trigger)).toEqual([{ type: 'signal', signal: 'SIGTERM' }, { type: 'signal', signal: 'SIGTERM' }])
  })

  it('passes a second signal on to the workers as a message: they report it and exit at once with 128 + its number', async () => {
    const f = await start({ workers: 2, primary: { timeoutMs: 20_000 }, worker: { readinessDelayMs: 5000, drainTimeoutMs: 5000, timeoutMs: 20_000 } })
    const hung = send(f.ports[0]!, '/hang', { agent: false })
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    // Still serving during the readiness delay: a 200 ms response puts the second signal well past the 100 ms window.
    const slow = await send(f.ports[0]!, '/slow?ms=200', { agent: false })
    expect(slow.ok && slow.reply.status).toBe(200)
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect((await hung).ok).toBe(false)
    await f.waitFor(() => reports(f).length === 2)
    expect(reports(f).map((e) => [e.report.exitCode, e.report.secondSignal])).toEqual([[143, 'SIGTERM'], [143, 'SIGTERM']])
  })
})

describe('clusterPrimary rolling restart (real cluster workers)', () => {
  it('replaces each worker in turn: the replacement listens before the old one is told to drain, and every old one exits 0', async () => {
    const f = await start({ workers: 2, primary: { timeoutMs: 10_000, restartSignals: ['SIGHUP'] }, worker: { drainTimeoutMs: 5000 } })
    process.kill(f.child.pid!, 'SIGHUP')
    const { result } = await f.waitFor((e) => e.event === 'restarted')
    expect(result).toMatchObject({ ok: true })
    expect(result.replaced.map((r: { old: { id: number } }) => r.old.id)).toEqual([1, 2])
    // Replacement 3 listened before worker 1 reported; replacement 4 before worker 2.
    const order = f.events.filter((e) => e.event === 'worker-listening' || e.event === 'report').map((e) => `${e.event === 'report' ? 'exit' : 'up'} ${e.id}`)
    expect(order.indexOf('up 3')).toBeLessThan(order.indexOf('exit 1'))
    expect(order.indexOf('exit 1')).toBeLessThan(order.indexOf('up 4'))
    expect(order.indexOf('up 4')).toBeLessThan(order.indexOf('exit 2'))
    for (const { report } of reports(f)) expect(report).toMatchObject({ exitCode: 0, trigger: { type: 'message', message: 'shutdown' } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 0, signal: null })
  })

  it('rejects restart signals that also shut the cluster down, and a fork that is not a function', () => {
    expect(() => clusterPrimary({ exit: false, logger: false, restartSignals: ['SIGTERM'] })).toThrow(LastcallOptionError)
    expect(() => clusterPrimary({ exit: false, logger: false, restartSignals: ['SIGTERM'] })).toThrow(/option "restartSignals" must be signals not also in signals/)
    expect(() => clusterPrimary({ exit: false, logger: false, fork: 'yes' as never })).toThrow(/option "fork" must be a function/)
  })

  it('stops when a replacement dies before listening: the old worker keeps serving and the result says why', async () => {
    const f = await start({ workers: 2, crashingWorkers: [3], primary: { timeoutMs: 10_000, restartSignals: ['SIGHUP'] } })
    process.kill(f.child.pid!, 'SIGHUP')
    const { result } = await f.waitFor((e) => e.event === 'restarted')
    expect(result).toMatchObject({ ok: false, replaced: [], error: 'the replacement exited with 3 before listening' })
    expect(reports(f)).toEqual([])
    const reply = await send(f.ports[0]!, '/')
    expect(reply.ok && reply.reply.status).toBe(200)
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 0, signal: null })
  })
})
