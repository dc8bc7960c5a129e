import { createServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { Server } from 'socket.io'
import { io as connect, type Socket } from 'socket.io-client'
import { createShutdown, LastcallOptionError } from '@lastcall/core'
import { attachSocketIo } from '../src/index.js'
import { killFixtures, startFixture, type Fixture } from './child.js'
import { failover } from './failover.js'

const cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup.splice(0)) c()
  killFixtures()
})

async function instance(env: Record<string, string>): Promise<{ app: Fixture; port: number }> {
  const app = startFixture('sio-app', env)
  const { port } = await app.waitFor((e) => e.ready, 'ready')
  return { app, port }
}

function client(port: number, transport: 'websocket' | 'polling'): Socket {
  const socket = connect(`http://127.0.0.1:${port}`, {
    transports: [transport],
    // An event whose acknowledgement does not come is sent again (to whichever instance the client is on by then).
    retries: 5,
    ackTimeout: 5000,
    reconnectionDelay: 20,
    reconnectionDelayMax: 100,
  })
  cleanup.push(() => socket.close())
  return socket
}

/**
 * Emits numbered 'work' events one after another, each awaited, while `a` shuts down,
 * until `enough` acknowledgements came from instance b (bounded by `max` events).
 */
async function workThroughMove(socket: Socket, a: Fixture, enough = 5, max = 5000) {
  const acks: { id: number; by: string }[] = []
  let fromB = 0
  let sigtermAt = 0
  for (let id = 0; id < max && fromB < enough; id++) {
    if (id === 10) {
      sigtermAt = performance.now()
      a.child.kill('SIGTERM')
    }
    const ack = (await socket.emitWithAck('work', id)) as { id: number; by: string }
    acks.push(ack)
    if (ack.by === 'b') fromB++
  }
  return { acks, sigtermAt }
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('connect', () => resolve()))
}

describe('attachSocketIo', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    it(`moves a ${transport} client to the other instance on SIGTERM (a reconnectable disconnect, reconnected), losing no acknowledged event; exit 0`, async () => {
      const a = await instance({ NAME: 'a' })
      const b = await instance({ NAME: 'b' })
      const front = await failover([a.port, b.port])
      cleanup.push(() => front.close())
      const socket = client(front.port, transport)
      const disconnects: { reason: string; at: number }[] = []
      socket.on('disconnect', (reason) => disconnects.push({ reason, at: performance.now() }))
      await connected(socket)
      let reconnectedAt = 0
      socket.io.on('reconnect', () => (reconnectedAt = performance.now()))

      let drainingAt = 0
      void a.app.waitFor((e) => e.state === 'draining', 'draining').then(() => (drainingAt = performance.now()))
      const { acks } = await workThroughMove(socket, a.app)
      const { code, report } = await a.app.exited
      expect(code).toBe(0)
      const { counts } = a.app.events.find((e) => e.counts)!
      // Never "io server disconnect", which the client does not retry. A polling client hears of the close on a poll,
      // or as an error when a poll or a send of its own races it (its next request went to b): it reconnects on both.
      expect(disconnects.map((d) => d.reason)).toEqual([transport === 'websocket' ? 'transport close' : expect.stringMatching(/^transport (close|error)$/)])
      // Every event was acknowledged, in order, and each one acknowledged was handled by the instance that said so.
      expect(acks.map((x) => x.id)).toEqual(acks.map((_, i) => i))
      const handled = { a: new Set(a.app.events.filter((e) => 'processed' in e).map((e) => e.processed)), b: new Set(b.app.events.filter((e) => 'processed' in e).map((e) => e.processed)) }
      for (const ack of acks) expect(handled[ack.by as 'a' | 'b'].has(ack.id)).toBe(true)
      expect(acks[0]!.by).toBe('a')
      expect(acks.at(-1)!.by).toBe('b')
      // The client left when the drain began, not at a timeout (pingInterval is 60 s, the drain timeout 3 s).
      expect(drainingAt).toBeGreaterThan(0)
      expect(disconnects[0]!.at - drainingAt).toBeLessThan(1000)
      expect(report?.hooks.find((h) => h.name === 'socket.io')).toMatchObject({ phase: 'intake', outcome: 'ok', detail: expect.stringMatching(/^1 client at the drain: 1 moved, 0 forced/) })
      expect(counts).toMatchObject({ clientsAtDrain: 1, moved: 1, forced: 0, acksCut: 0 })
      expect(reconnectedAt).toBeGreaterThan(disconnects[0]!.at)
    })
  }

  it('does the same for Socket.IO on Express through @lastcall/express', async () => {
    const a = await instance({ NAME: 'a', EXPRESS: '1' })
    const b = await instance({ NAME: 'b' })
    const front = await failover([a.port, b.port])
    cleanup.push(() => front.close())
    expect(await (await fetch(`http://127.0.0.1:${a.port}/hello`)).text()).toBe('hello')
    const socket = client(front.port, 'websocket')
    const reasons: string[] = []
    socket.on('disconnect', (reason) => reasons.push(reason))
    await connected(socket)
    const { acks } = await workThroughMove(socket, a.app)
    const { code, report } = await a.app.exited
    expect(code).toBe(0)
    expect(reasons).toEqual(['transport close'])
    expect(acks.at(-1)!.by).toBe('b')
    expect(report?.hooks.find((h) => h.name === 'socket.io')?.outcome).toBe('ok')
  })

  it('disconnects a client whose acknowledgement never comes after ackTimeoutMs, counts it cut off and exits 1', async () => {
    const a = await instance({ NAME: 'a', ACK_MS: '300' })
    const socket = client(a.port, 'websocket')
    const reasons: string[] = []
    socket.on('disconnect', (reason) => reasons.push(reason))
    await connected(socket)
    socket.emit('stuck', 1, () => {})
    await a.app.waitFor((e) => e.stuck, 'stuck event handled')
    a.app.child.kill('SIGTERM')
    const { code, report } = await a.app.exited
    expect(code).toBe(1)
    expect(reasons[0]).toBe('transport close')
    const hook = report?.hooks.find((h) => h.name === 'socket.io')
    expect(hook?.outcome).toBe('error')
    expect(hook?.error).toContain('1 client at the drain: 1 moved, 0 forced, 0 refused; 1 acknowledgement pending: 0 answered, 1 cut off')
  })

  it('refuses a handshake that arrives during the drain', async () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, platform: false, onCrash: false, readinessDelayMs: 0 })
    const http = createServer()
    const io = new Server(http)
    cleanup.push(() => io.close())
    const drain = attachSocketIo(shutdown, io)
    // Not attached to the controller, so its listener stays open and the handshake reaches engine.io.
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const port = (http.address() as { port: number }).port
    await shutdown.shutdown('test')
    const res = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('server shutting down')
    expect(drain.counts.refused).toBe(1)
  })

  it('throws LastcallOptionError naming the option for invalid arguments', () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, platform: false, onCrash: false })
    const io = new Server()
    expect(() => attachSocketIo({} as never, io)).toThrow(LastcallOptionError)
    expect(() => attachSocketIo(shutdown, {} as never)).toThrow(/attachSocketIo\(io\)/)
    expect(() => attachSocketIo(shutdown, io, { ackTimeoutMs: 0 })).toThrow(/ackTimeoutMs.*0/)
    expect(() => attachSocketIo(shutdown, io, { other: 1 } as never)).toThrow(/options\)\.other/)
    expect(() => attachSocketIo(shutdown, io, { phase: 'nope' })).toThrow(/phase/)
  })
})
