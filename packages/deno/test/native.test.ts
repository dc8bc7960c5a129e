import type { ShutdownReport } from '@lastcall/core'
import { fixtureCommand, get, send, startFixture, type Fixture } from '@lastcall/test-kit'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { DenoShutdown, gracefulShutdown, NotDenoError } from '../src/index.js'

const file = new URL('./fixtures/native.ts', import.meta.url).pathname
const unavailable = fixtureCommand('deno', file).skip
const reportOf = (f: Fixture): Promise<ShutdownReport> => f.waitFor((e) => e.event === 'report').then((e) => e.report as ShutdownReport)
const noted = (f: Fixture, name: string): Promise<unknown> => f.waitFor((e) => e.event === 'note' && e.name === name)

describe('gracefulShutdown', () => {
  it('throws NotDenoError, with a stable code, on a runtime that is not Deno', () => {
    expect(() => gracefulShutdown()).toThrow(NotDenoError)
    expect(() => gracefulShutdown()).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_STATE' }))
    expect(DenoShutdown.prototype.serve).toBeTypeOf('function')
  })
})

// Real Deno processes, real sockets, real signals.
;(unavailable === undefined ? describe : describe.skip)(`DenoShutdown on Deno.serve${unavailable ? ` [SKIPPED: ${unavailable}]` : ''}`, () => {
  let fixture: Fixture | undefined
  afterEach(() => fixture?.kill())

  it('closes a WebSocket from upgradeWebSocket() with 1001 when the drain starts, counts it, exits 0', async () => {
    fixture = await startFixture(file, { variant: { mode: 'ws' } as object }, { runtime: 'deno' })
    const client = new WebSocket(`ws://127.0.0.1:${fixture.port}/ws`)
    client.on('error', () => {})
    await noted(fixture, 'ws-open')
    const closed = new Promise<[number, string]>((resolve) => client.once('close', (code, reason) => resolve([code, reason.toString()])))
    fixture.child.kill('SIGTERM')
    const [code, reason] = await closed
    expect(code).toBe(1001)
    expect(reason).not.toBe('Server shutting down') // lastcall's close, not Deno's own at shutdown()
    const report = await reportOf(fixture)
    expect(report.connections.byKind.upgraded).toBe(1)
    expect(report.connections.forced).toBe(0)
    expect((await fixture.exited).code).toBe(0)
  })

  it('cuts a handler still running at the drain deadline after shutdown() (no abort: it crashes Deno), so Deno.serve finishes', async () => {
    fixture = await startFixture(file, { variant: { mode: 'cut' } as object }, { runtime: 'deno' })
    const pending = send(fixture.port, '/hang', { agent: false })
    await noted(fixture, 'hang')
    fixture.child.kill('SIGTERM')
    const outcome = await pending
    expect(outcome.ok && outcome.reply.status === 200 && outcome.reply.body !== '').toBe(false)
    const report = await reportOf(fixture)
    expect(report.requests.forced).toBe(1)
    expect(report.exitCode).toBe(1)
    // exit: false: the fixture exits by itself once Deno's server has finished, which the cut allowed.
    await noted(fixture, 'finished')
    expect((await fixture.exited).code, fixture.stderr()).toBe(0)
  })

  it('serves with the { handler } form of Deno.serve too', async () => {
    fixture = await startFixture(file, { variant: { mode: 'forms' } as object }, { runtime: 'deno' })
    expect(await get(fixture.port, '/ok')).toMatchObject({ status: 200, body: 'ok' })
    expect((await get(fixture.port, '/readyz')).status).toBe(200)
  })
})
