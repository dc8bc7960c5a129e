import { afterEach, describe, expect, it } from 'vitest'
import { send, startFixture, type Fixture } from './helpers.js'

const running: Fixture[] = []
afterEach(() => {
  for (const f of running.splice(0)) f.kill()
})

async function start(options: Record<string, unknown>): Promise<Fixture> {
  const fixture = await startFixture('crash-server.ts', { options })
  running.push(fixture)
  return fixture
}

const report = (f: Fixture) => f.waitFor((e) => e.event === 'report').then((e) => e.report)

describe("onCrash: 'shutdown' (real child processes)", () => {
  it('on an uncaught exception logs it, fails readiness, lets the in-flight request finish and exits 1', async () => {
    const f = await start({ onCrash: 'shutdown', readinessDelayMs: 300, drainTimeoutMs: 3000 })
    const port = f.ports[0]!
    expect((await send(port, '/readyz')).ok).toBe(true)
    const slow = send(port, '/slow?ms=700')
    await f.waitFor((e) => e.event === 'request' && e.path === '/slow')
    const thrower = await send(port, '/throw')
    expect(thrower.ok && thrower.reply.status).toBe(200)

    await f.waitFor((e) => e.event === 'state' && e.state === 'leaving')
    const readiness = await send(port, '/readyz')
    expect(readiness.ok && readiness.reply.status).toBe(503)
    const logged = await f.waitFor((e) => e.event === 'log' && e.level === 'error')
    expect(logged.message).toBe('uncaughtException: boom; shutting down')

    const outcome = await slow
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 1, signal: null })
    const r = await report(f)
    expect(r.trigger).toEqual({ type: 'error', reason: 'uncaughtException: boom' })
    expect(r.exitCode).toBe(1)
    expect(r.requests.completed).toBeGreaterThanOrEqual(1)
    expect(r.requests.forced).toBe(0)
  })

  it('handles an unhandled rejection the same way', async () => {
    const f = await start({ onCrash: 'shutdown', readinessDelayMs: 0 })
    await send(f.ports[0]!, '/reject')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect((await report(f)).trigger).toEqual({ type: 'error', reason: 'unhandledRejection: nobody caught me' })
  })

  it('exits non-zero within timeoutMs even with exit: false and a request that never ends', async () => {
    const f = await start({ onCrash: 'shutdown', exit: false, readinessDelayMs: 0, drainTimeoutMs: 300, timeoutMs: 2000 })
    const hung = send(f.ports[0]!, '/hang')
    await f.waitFor((e) => e.event === 'request' && e.path === '/hang')
    await send(f.ports[0]!, '/throw')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect((await hung).ok).toBe(false)
    expect((await report(f)).requests.forced).toBe(1)
  })

  it('logs a second uncaught error during the shutdown and goes on draining', async () => {
    const f = await start({ onCrash: 'shutdown', readinessDelayMs: 0, drainTimeoutMs: 3000 })
    const slow = send(f.ports[0]!, '/slow-then-throw?ms=500')
    await f.waitFor((e) => e.event === 'request' && e.path === '/slow-then-throw')
    await send(f.ports[0]!, '/throw')
    await f.waitFor((e) => e.event === 'state' && e.state === 'draining')
    const outcome = await slow
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 1, signal: null })
    const errors = f.events.filter((e) => e.event === 'log' && e.level === 'error').map((e) => e.message)
    expect(errors).toEqual(['uncaughtException: boom; shutting down', 'uncaughtException: boom again; shutting down'])
    expect((await report(f)).trigger.reason).toBe('uncaughtException: boom')
  })

  it('is off by default: Node prints the error and exits without a drain', async () => {
    const f = await start({ readinessDelayMs: 0 })
    await send(f.ports[0]!, '/throw')
    expect((await f.exited).code).toBe(1)
    expect(f.stderr()).toContain('Error: boom')
    expect(f.events.some((e) => e.event === 'report' || e.event === 'state' && e.state === 'leaving')).toBe(false)
  })
})
