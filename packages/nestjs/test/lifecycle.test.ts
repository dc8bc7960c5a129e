import { get, send, startFixture, type Fixture, type Outcome } from '@lastcall/test-kit'
import type { FixtureConfig } from '@lastcall/test-kit'
import type { ShutdownReport } from '@lastcall/core'
import { afterEach, describe, expect, it } from 'vitest'
import { EXPECTED_NEST_MAJOR } from './nestVersion.js'

const LIFECYCLE = new URL('./fixtures/lifecycle.ts', import.meta.url).pathname

interface LifecycleConfig {
  options?: Record<string, unknown>
  platform?: 'express' | 'fastify'
  lastcall?: boolean
  shutdownHooks?: boolean
  hangDestroy?: boolean
}

let fixture: Fixture | undefined
afterEach(() => fixture?.kill())

const start = async (config: LifecycleConfig): Promise<Fixture> => (fixture = await startFixture(LIFECYCLE, config as FixtureConfig))

/** What the fixture printed, in order: states and notes as one list. */
const timeline = (f: Fixture): string[] => f.events.flatMap((e) => (e.event === 'state' ? [`state:${e.state}`] : e.event === 'note' && e.name !== 'slow' && e.name !== 'held' ? [e.name as string] : []))

describe('LastcallModule in a real process', () => {
  it(`runs on Nest ${EXPECTED_NEST_MAJOR} (the nestjs project: the workspace's Nest 12; nestjs-11: Nest 11)`, async () => {
    const f = await start({})
    const loaded = f.events.find((e) => e.event === 'nest')?.version as string
    expect(Number(loaded.split('.')[0])).toBe(EXPECTED_NEST_MAJOR)
  })

  for (const platform of ['express', 'fastify'] as const) {
    for (const shutdownHooks of [false, true]) {
      it(`${platform}${shutdownHooks ? ', with app.enableShutdownHooks()' : ''}: SIGTERM drains first, then Nest's hooks run once, in order, with the signal; exit 0`, async () => {
        const f = await start({ platform, lastcall: true, shutdownHooks, options: { readinessDelayMs: 0, drainTimeoutMs: 5000 } })
        const pending = get(f.port, '/held')
        await f.waitFor((e) => e.event === 'note' && e.name === 'held')
        f.child.kill('SIGTERM')
        expect(await pending).toMatchObject({ status: 200, body: 'held', headers: { connection: 'close' } })
        const { code, signal } = await f.exited
        expect({ code, signal }, f.stderr()).toEqual({ code: 0, signal: null })
        expect(timeline(f).slice(timeline(f).indexOf('state:leaving'))).toEqual([
          'state:leaving',
          'state:draining',
          'state:closing',
          'onModuleDestroy',
          'beforeApplicationShutdown:SIGTERM',
          'onApplicationShutdown:SIGTERM',
          'state:closed',
        ])
        const report = f.events.find((e) => e.event === 'report')?.report as ShutdownReport
        expect(report.trigger).toEqual({ type: 'signal', signal: 'SIGTERM' })
        expect(report.requests.completed).toBeGreaterThanOrEqual(1)
        expect(report.hooks.find((h) => h.name === 'nest.close')).toMatchObject({ phase: 'default', outcome: 'ok' })
      })
    }
  }

  it('bounds Nest\'s close like any hook: an onModuleDestroy that never returns is cut at hookTimeoutMs, reported, exit 1', async () => {
    const f = await start({ lastcall: true, hangDestroy: true, options: { readinessDelayMs: 0, hookTimeoutMs: 300 } })
    f.child.kill('SIGTERM')
    const { code } = await f.exited
    expect(code, f.stderr()).toBe(1)
    const report = f.events.find((e) => e.event === 'report')?.report as ShutdownReport
    expect(report.hooks.find((h) => h.name === 'nest.close')).toMatchObject({ outcome: 'timeout' })
  })
})

/**
 * nestjs/nest#11416: on SIGTERM, `enableShutdownHooks()` closes the server at
 * once, while the load balancer still routes here: requests get connection
 * refused. The balancer is played by a client that keeps sending (new
 * connections) until the app's readiness fails. The same assertions run
 * without lastcall (expected to fail) and with it.
 */
async function balancerAfterSigterm(f: Fixture): Promise<{ served: Outcome[]; readinessFailed: boolean }> {
  const inFlight = send(f.port, '/slow?ms=300', { agent: false })
  await f.waitFor((e) => e.event === 'note' && e.name === 'slow')
  f.child.kill('SIGTERM')
  const served: Outcome[] = [await inFlight]
  // Until the balancer sees readiness fail, or a request fails (the app has
  // stopped accepting: without lastcall nothing ever fails readiness).
  for (;;) {
    const outcome = await send(f.port, '/slow?ms=0', { agent: false })
    served.push(outcome)
    if (!outcome.ok) return { served, readinessFailed: false }
    const ready = await send(f.port, '/readyz', { agent: false })
    if (!ready.ok) return { served, readinessFailed: false }
    if (ready.reply.status === 503) return { served, readinessFailed: true }
  }
}

describe('nestjs/nest#11416: requests sent during shutdown get connection refused', () => {
  const expectNoneRefused = (result: { served: Outcome[]; readinessFailed: boolean }): void => {
    expect(result.served.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.code))).toEqual([])
    expect(result.served.every((o) => o.ok && o.reply.status === 200)).toBe(true)
    expect(result.readinessFailed).toBe(true)
  }

  for (const platform of ['express', 'fastify'] as const) {
    it.fails(`${platform}: fails with Nest alone (enableShutdownHooks): a request sent after SIGTERM is refused`, async () => {
      const f = await start({ platform, shutdownHooks: true })
      expectNoneRefused(await balancerAfterSigterm(f))
    })

    it(`${platform}: passes with lastcall: every request is served until readiness fails, then the drain, exit 0`, async () => {
      const f = await start({ platform, lastcall: true, shutdownHooks: true, options: { readinessDelayMs: 1000, drainTimeoutMs: 3000 } })
      expectNoneRefused(await balancerAfterSigterm(f))
      expect((await f.exited).code, f.stderr()).toBe(0)
    })
  }
})
