import { once } from 'node:events'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fixtureCommand, keepAliveAgent, send, startFixture, type StartedFixture } from '@lastcall/test-utils'
import { describe, expect, it } from 'vitest'

const fixture = join(import.meta.dirname, 'fixtures', 'bunListener.ts')
const runtime = fixtureCommand('bun', fixture)

async function onBun(): Promise<StartedFixture & { port: number }> {
  const app = await startFixture(fixture, { runtime: 'bun', stdin: true })
  return Object.assign(app, { port: (app.readyEvent.ports as number[])[0]! })
}

;(runtime.skip === undefined ? describe : describe.skip)(`stopBunListener on Bun${runtime.skip ? ` [SKIPPED: ${runtime.skip}]` : ''}`, () => {
  it('keeps a keep-alive connection idle at the drain open: a request sent on it is served with Connection: close, new connections are refused', async () => {
    const app = await onBun()
    const agent = keepAliveAgent(false, 1)
    try {
      const first = await send(app.port, '/first', { agent })
      expect(first.ok && first.reply.status).toBe(200)
      app.command({ cmd: 'shutdown' })
      await app.waitFor((e) => e.event === 'state' && e.state === 'draining')
      // The socket idle in the agent's pool at the instant the drain started.
      const second = await send(app.port, '/second', { agent })
      expect(second).toMatchObject({ ok: true, reply: { status: 200, body: '/second', reused: true, headers: { connection: 'close' } } })
      const fresh = await send(app.port, '/fresh', { agent: false })
      expect(fresh).toMatchObject({ ok: false, code: 'ECONNREFUSED' })
      const { report } = await app.waitFor((e) => e.event === 'report')
      expect(report).toMatchObject({ exitCode: 0, connections: { openAtDrain: 1, closedAfterResponse: 1, closedIdle: 0, forced: 0 } })
      expect(app.events.filter((e) => e.event === 'log')).toEqual([])
    } finally {
      agent.destroy()
      app.kill()
    }
  })

  it("falls back to Bun's own close() with a warning when Bun's native server cannot be changed: the idle connection is closed at once", async () => {
    const app = await onBun()
    const socket = connect(app.port, '127.0.0.1')
    try {
      app.command({ cmd: 'freeze' })
      await app.waitFor((e) => e.event === 'frozen')
      socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n')
      const received = await new Promise<string>((resolve) => {
        let text = ''
        socket.on('data', (chunk) => {
          text += String(chunk)
          if (text.endsWith('/first')) resolve(text)
        })
      })
      expect(received).toMatch(/^HTTP\/1\.1 200/)
      const closed = once(socket, 'close')
      app.command({ cmd: 'shutdown' })
      // Closed by Bun's close() right away, not after lastcall's 60 s linger.
      await closed
      const warning = await app.waitFor((e) => e.event === 'log' && /closeIdleConnections/.test(e.message))
      expect(warning).toMatchObject({ level: 'warn', message: expect.stringMatching(/would not take a closeIdleConnections of lastcall's/) })
      const { report } = await app.waitFor((e) => e.event === 'report')
      expect(report.exitCode).toBe(0)
    } finally {
      socket.destroy()
      app.kill()
    }
  })
})
