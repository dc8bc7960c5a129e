import { request } from 'node:http'
import type { ShutdownReport } from '@lastcall/core'
import { fixtureCommand, startFixture, type Fixture } from '@lastcall/test-kit'
import { afterEach, describe, expect, it } from 'vitest'

const file = new URL('./fixtures/signals.ts', import.meta.url).pathname
const unavailable = fixtureCommand('deno', file).skip
const reportOf = (f: Fixture): ShutdownReport | undefined => f.events.find((e) => e.event === 'report')?.report as ShutdownReport | undefined
const noted = (f: Fixture, name: string): Promise<unknown> => f.waitFor((e) => e.event === 'note' && e.name === name)

// Real signals to a real Deno process: the controller listens with Deno.addSignalListener and exits with Deno.exit.
;(unavailable === undefined ? describe : describe.skip)(`createShutdown on Deno's own signal API${unavailable ? ` [SKIPPED: ${unavailable}]` : ''}`, () => {
  let fixture: Fixture | undefined
  afterEach(() => fixture?.kill())

  it('drains on SIGTERM, runs the hooks and exits 0, with no listener on node:process', async () => {
    fixture = await startFixture(file, {}, { runtime: 'deno' })
    await noted(fixture, 'process.on listeners: 0')
    fixture.child.kill('SIGTERM')
    const { code } = await fixture.exited
    expect(code, fixture.stderr()).toBe(0)
    expect(fixture.events.some((e) => e.name === 'hook')).toBe(true)
    expect(reportOf(fixture)?.trigger).toEqual({ type: 'signal', signal: 'SIGTERM' })
  })

  it('exits at once with 130 on a second signal (SIGINT) while a hook still runs, and says so in the report', async () => {
    fixture = await startFixture(file, { variant: { hook: 'hold' } as object }, { runtime: 'deno' })
    fixture.child.kill('SIGTERM')
    await noted(fixture, 'hook')
    fixture.child.kill('SIGINT')
    const { code } = await fixture.exited
    expect(code, fixture.stderr()).toBe(130)
    expect(reportOf(fixture)?.secondSignal).toBe('SIGINT')
  })

  it('takes the same signal twice within 100 ms as one', async () => {
    fixture = await startFixture(file, { variant: { hook: 'hold' } as object, options: { timeoutMs: 2000, drainTimeoutMs: 500 } }, { runtime: 'deno' })
    fixture.child.kill('SIGTERM')
    fixture.child.kill('SIGTERM')
    await noted(fixture, 'hook')
    const { code } = await fixture.exited
    // The hook never ends: timeoutMs ends the shutdown, exit 1, and no second signal was seen.
    expect(code, fixture.stderr()).toBe(1)
    expect(reportOf(fixture)?.secondSignal).toBeUndefined()
    expect(reportOf(fixture)?.timedOut).toBe(true)
  })

  it('leaves a trace and exits 1 when a hook calls Deno.exit(0) in the middle of the shutdown', async () => {
    fixture = await startFixture(file, { variant: { hook: 'exit0' } as object }, { runtime: 'deno' })
    fixture.child.kill('SIGTERM')
    const { code } = await fixture.exited
    expect(fixture.stderr()).toMatch(/exiting with code 1 \(process.exit\(0\) was called\) before its shutdown finished/)
    expect(code).toBe(1)
  })

  it("shuts down on an uncaught error with onCrash: 'shutdown' and exits 1, naming it", async () => {
    fixture = await startFixture(file, { variant: { hook: 'throwLater' } as object, options: { onCrash: 'shutdown' } }, { runtime: 'deno' })
    await new Promise<void>((resolve, reject) => request({ host: '127.0.0.1', port: fixture!.port, path: '/' }, (res) => res.resume().on('end', resolve)).on('error', reject).end())
    const { code } = await fixture.exited
    expect(code, fixture.stderr()).toBe(1)
    expect(reportOf(fixture)?.crash).toMatchObject({ kind: 'uncaughtException', error: 'boom' })
  })
})
