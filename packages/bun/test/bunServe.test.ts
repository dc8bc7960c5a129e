import { Agent } from 'node:http'
import { fixtureCommand, get, startFixture, type Fixture } from '@lastcall/test-kit'
import type { ShutdownReport } from '@lastcall/core'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { describeNativeResponses } from '@lastcall/test-kit/native-server'
import { bunServeAdapter } from './harness.js'

const fixture = bunServeAdapter().fixture
const unavailable = fixtureCommand('bun', fixture).skip
const running: Fixture[] = []
afterEach(() => {
  for (const f of running.splice(0)) f.kill()
})

async function start(options: Record<string, unknown>): Promise<Fixture> {
  const f = await startFixture(fixture, { options: { readinessDelayMs: 0, drainTimeoutMs: 5000, ...options } }, { runtime: 'bun' })
  running.push(f)
  return f
}

function reportOf(f: Fixture): ShutdownReport | undefined {
  return f.events.find((e) => e.event === 'report')?.report as ShutdownReport | undefined
}

;(unavailable === undefined ? describe : describe.skip)(`@lastcall/bun on Bun.serve${unavailable ? ` [SKIPPED: ${unavailable}]` : ''}`, () => {
  it('closes an open WebSocket with 1001 on SIGTERM, waits for the close handshake, and exits 0', async () => {
    const f = await start({ webSocketCloseTimeoutMs: 3000 })
    const client = new WebSocket(`ws://127.0.0.1:${f.port}/ws`)
    await new Promise<void>((resolve, reject) => {
      client.once('message', () => resolve())
      client.once('error', reject)
    })
    const closed = new Promise<[number, string]>((resolve) => client.once('close', (code, reason) => resolve([code, reason.toString()])))
    f.child.kill('SIGTERM')
    expect(await closed).toEqual([1001, 'server shutting down'])
    const { code } = await f.exited
    expect(code, f.stderr()).toBe(0)
    expect(reportOf(f)?.connections).toMatchObject({ openAtDrain: 1, closedAfterResponse: 1, forced: 0, byKind: { upgraded: 1 } })
  })

  it('serves a request sent on a keep-alive connection idle when the drain starts, which Bun.serve\'s own stop(false) would reset', async () => {
    const f = await start({ idleLingerMs: 3000 })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      expect((await get(f.port, '/ok', { agent })).status).toBe(200)
      f.child.kill('SIGTERM')
      await f.waitFor((e) => e.event === 'state' && e.state === 'draining')
      // The connection has been idle since before the drain: Bun alone closes it at stop(false).
      const reply = await get(f.port, '/ok', { agent })
      expect(reply).toMatchObject({ status: 200, body: 'ok', reused: true })
      expect(reply.headers.connection).toBe('close')
    } finally {
      agent.destroy()
    }
    const { code } = await f.exited
    expect(code, f.stderr()).toBe(0)
    expect(reportOf(f)?.requests).toMatchObject({ arrivedDuringShutdown: 1, completed: 1, forced: 0 })
  })
})

describeNativeResponses(bunServeAdapter(), 'bun')
