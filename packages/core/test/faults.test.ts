import { afterEach, describe, expect, it } from 'vitest'
import { keepAliveAgent, send, startFixture, type Fixture } from './helpers.js'

const running: Fixture[] = []
afterEach(() => {
  for (const f of running.splice(0)) f.kill()
})

async function start(file: string, config: unknown): Promise<Fixture> {
  const fixture = await startFixture(file, config)
  running.push(fixture)
  return fixture
}

const report = (f: Fixture) => f.waitFor((e) => e.event === 'report').then((e) => e.report)
const state = (f: Fixture, name: string) => f.waitFor((e) => e.event === 'state' && e.state === name)

describe('signals during a shutdown (real child processes)', () => {
  it('takes the first signal after shutdown() as that shutdown\'s own: the request in flight completes, exit 0, a report', async () => {
    const f = await start('server.ts', { options: { readinessDelayMs: 0, drainTimeoutMs: 5000 } })
    const agent = keepAliveAgent()
    const slow = send(f.ports[0]!, '/slow?ms=600', { agent })
    await f.waitFor((e) => e.event === 'request')
    await send(f.ports[0]!, '/shutdown')
    await state(f, 'draining')
    // The platform's own SIGTERM arrives while the app's shutdown drains.
    process.kill(f.child.pid!, 'SIGTERM')
    const outcome = await slow
    agent.destroy()
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(await report(f)).toMatchObject({ trigger: { type: 'manual', reason: 'app asked' }, exitCode: 0, requests: { forced: 0 } })
  })

  it('takes the same signal delivered twice at once (a supervisor and the process group) as one signal', async () => {
    const f = await start('server.ts', { signalAgain: 'SIGTERM', options: { readinessDelayMs: 0, drainTimeoutMs: 5000 } })
    const slow = send(f.ports[0]!, '/held')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    const outcome = await slow
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(await report(f)).toMatchObject({ trigger: { type: 'signal', signal: 'SIGTERM' }, exitCode: 0 })
  })

  it('exits with 128 + the number of a second signal of another kind, and its report says so', async () => {
    const f = await start('server.ts', { options: { signals: ['SIGTERM', 'SIGHUP'], readinessDelayMs: 0, drainTimeoutMs: 20_000, timeoutMs: 30_000 } })
    const hung = send(f.ports[0]!, '/hang')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    await state(f, 'draining')
    process.kill(f.child.pid!, 'SIGHUP')
    expect(await f.exited).toEqual({ code: 129, signal: null })
    expect((await hung).ok).toBe(false)
    expect(await report(f)).toMatchObject({ exitCode: 129, secondSignal: 'SIGHUP', pending: ['1 requests', '1 connections'], requests: { forced: 1 } })
  })

  it('exits with 140 on a second SIGUSR2 (nodemon) once past the duplicate window', async () => {
    // The fixed 200 ms delay puts the drain past the 100 ms window, by the child's own clock.
    const f = await start('server.ts', { options: { signals: ['SIGUSR2'], readinessDelayMs: 200, drainTimeoutMs: 20_000, timeoutMs: 30_000 } })
    const hung = send(f.ports[0]!, '/hang')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGUSR2')
    await state(f, 'draining')
    process.kill(f.child.pid!, 'SIGUSR2')
    expect(await f.exited).toEqual({ code: 140, signal: null })
    expect((await hung).ok).toBe(false)
    expect(await report(f)).toMatchObject({ exitCode: 140, secondSignal: 'SIGUSR2' })
  })
})

describe('user code that throws never breaks the drain (real child processes)', () => {
  it('goes on when every logger method throws: the request completes, hooks run, the report is made, the lines go to stderr', async () => {
    const f = await start('server.ts', { throwingLogger: true, options: { readinessDelayMs: 0, drainTimeoutMs: 5000 }, hooks: { db: { behaviour: 'ok' } } })
    const slow = send(f.ports[0]!, '/held')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    const outcome = await slow
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(await report(f)).toMatchObject({ exitCode: 0, requests: { completed: 1, forced: 0 }, hooks: [{ name: 'db', outcome: 'ok' }] })
    expect(f.stderr()).toContain('[lastcall] the logger threw (destination is destroyed); its info line was: shutdown started by SIGTERM')
    expect(f.stderr()).toContain('shutdown finished with exit code 0')
  })

  it('exits with the report\'s code when state and closed listeners throw, and prints their errors', async () => {
    const f = await start('server.ts', { throwingListeners: true, options: { readinessDelayMs: 0 }, hooks: { broken: { behaviour: 'throw' } } })
    process.kill(f.child.pid!, 'SIGTERM')
    const r = await report(f)
    expect(r.exitCode).toBe(1)
    expect(await f.exited).toEqual({ code: r.exitCode, signal: null })
    expect(f.stderr()).toContain('[lastcall] a "closed" listener threw: closed listener broke; the shutdown goes on')
    expect(f.stderr()).toContain('[lastcall] a "state" listener threw: state listener broke')
  })

  it('exits 0 with a clean report when only a closed listener throws', async () => {
    const f = await start('server.ts', { throwingListeners: true, options: { readinessDelayMs: 0 } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await report(f)).exitCode).toBe(0)
    expect(await f.exited).toEqual({ code: 0, signal: null })
  })

  it('leaves a trace naming the hook and the state when a hook calls process.exit(0), and exits 1', async () => {
    const f = await start('server.ts', { options: { readinessDelayMs: 0 }, hooks: { fine: { behaviour: 'ok' }, quitter: { behaviour: 'exit', phase: 'stores' } } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect(f.events.some((e) => e.event === 'report')).toBe(false)
    expect(f.stderr()).toContain('[lastcall] the process is exiting with code 1 (process.exit(0) was called) before its shutdown finished (state closing, hooks running: quitter)')
  })
})

describe("onCrash: 'shutdown' after another trigger (real child processes)", () => {
  it('names the crash in the report and exits 1 when an uncaught error happens during a SIGTERM drain', async () => {
    const f = await start('crash-server.ts', { options: { onCrash: 'shutdown', readinessDelayMs: 0, drainTimeoutMs: 5000 } })
    const slow = send(f.ports[0]!, '/slow-then-throw?ms=300')
    await f.waitFor((e) => e.event === 'request' && e.path === '/slow-then-throw')
    process.kill(f.child.pid!, 'SIGTERM')
    await state(f, 'draining')
    const outcome = await slow
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 1, signal: null })
    expect(await report(f)).toMatchObject({
      trigger: { type: 'signal', signal: 'SIGTERM' },
      crash: { kind: 'uncaughtException', error: 'boom again' },
      exitCode: 1,
    })
  })
})
