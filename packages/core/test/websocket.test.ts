import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createShutdown, type ShutdownController, type ShutdownOptions } from '../src/index.js'
import { listen, send } from './helpers.js'
import { drainDuration, rawExchange, rawWebSocket } from './longLivedClients.js'

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

function controller(options: ShutdownOptions = {}) {
  // These tests are about the drain: no readiness delay.
  return createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, ...options })
}

function httpServer(shutdown: ShutdownController): Server {
  const server = shutdown.attach(createServer((_req, res) => res.end('ok')))
  cleanup.push(() => server.closeAllConnections(), () => server.close())
  return server
}

async function wsClient(port: number): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
  ws.on('error', () => {})
  cleanup.push(() => ws.terminate())
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  await once(ws, 'open')
  return { ws, closed }
}

function untilDraining(shutdown: ShutdownController): Promise<void> {
  return new Promise((resolve) => {
    const on = (state: string): void => {
      if (state !== 'draining') return
      shutdown.off('state', on)
      resolve()
    }
    shutdown.on('state', on)
  })
}

/** A server-to-client close frame (unmasked): FIN + opcode 8, then the status code. */
function closeCode(frame: Buffer): number | undefined {
  if (frame.length < 4 || frame[0] !== 0x88) return undefined
  return frame.readUInt16BE(2)
}

describe('ShutdownController with upgraded connections', () => {
  it('leaves an Upgrade request an ordinary request when the app has no upgrade listener', async () => {
    const shutdown = controller()
    const seen: string[] = []
    const server = shutdown.attach(
      createServer((req, res) => {
        seen.push(String(req.headers.upgrade))
        res.end('plain')
      }),
    )
    cleanup.push(() => server.close())
    const port = await listen(server)
    const outcome = await send(port, '/', { agent: false, headers: { Connection: 'Upgrade', Upgrade: 'websocket' } })
    expect(outcome.ok && outcome.reply.body).toBe('plain')
    expect(seen).toEqual(['websocket'])
    expect(server.listenerCount('upgrade')).toBe(0)
  })

  it('without ws, destroys a raw upgraded socket at drainTimeoutMs and counts it', async () => {
    const shutdown = controller({ drainTimeoutMs: 300 })
    const server = httpServer(shutdown)
    server.on('upgrade', (_req: IncomingMessage, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    })
    const port = await listen(server)
    const client = connect(port, '127.0.0.1')
    cleanup.push(() => client.destroy())
    client.on('error', () => {})
    await once(client, 'connect')
    client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
    await once(client, 'data')
    const closed = once(client, 'close')
    const report = await shutdown.shutdown()
    await closed
    expect(report.connections).toMatchObject({ openAtDrain: 1, forced: 1, byKind: { http1: 0, h2: 0, upgraded: 1 } })
    expect(report.requests.forced).toBe(0)
    expect(report.exitCode).toBe(1)
  })
})

describe('ShutdownController.attachWebSockets', () => {
  it('sends every ws client close code 1001 when the drain starts, and the drain ends as soon as they are gone', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000 })
    const server = httpServer(shutdown)
    // Created after attach(): the tracker joins ws's upgrade listener when it is added.
    const wss = shutdown.attachWebSockets(new WebSocketServer({ server }))
    cleanup.push(() => wss.close())
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)))
    const port = await listen(server)
    const a = await wsClient(port)
    const b = await wsClient(port)
    a.ws.send('ping')
    expect(String((await once(a.ws, 'message'))[0])).toBe('ping')
    const report = await shutdown.shutdown()
    expect(await a.closed).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(await b.closed).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(report.connections).toMatchObject({ openAtDrain: 2, closedAfterResponse: 2, forced: 0, byKind: { upgraded: 2 } })
    expect(report.exitCode).toBe(0)
    // The close handshake takes milliseconds; webSocketCloseTimeoutMs is 1000 and the deadline 5000.
    expect(drainDuration(report)).toBeLessThan(900)
  })

  it('terminates a client that ignores the close frame after webSocketCloseTimeoutMs, before the deadline, and counts it as forced', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000, webSocketCloseTimeoutMs: 200 })
    const server = httpServer(shutdown)
    const wss = new WebSocketServer({ server })
    cleanup.push(() => wss.close())
    shutdown.attachWebSockets(wss)
    const port = await listen(server)
    const polite = await wsClient(port)
    const stuck = await rawWebSocket(port)
    cleanup.push(() => stuck.socket.destroy())
    const report = await shutdown.shutdown()
    await stuck.closed
    expect(closeCode(stuck.received())).toBe(1001)
    expect((await polite.closed).code).toBe(1001)
    expect(report.connections).toMatchObject({ closedAfterResponse: 1, forced: 1, byKind: { upgraded: 2 } })
    expect(report.exitCode).toBe(1)
    const took = drainDuration(report)
    expect(took).toBeGreaterThanOrEqual(190)
    expect(took).toBeLessThan(2500)
  })

  it('terminates a client that ignores the close frame at the drain deadline when that comes first', async () => {
    const shutdown = controller({ drainTimeoutMs: 300, webSocketCloseTimeoutMs: 60_000 })
    const server = httpServer(shutdown)
    const wss = new WebSocketServer({ server })
    cleanup.push(() => wss.close())
    shutdown.attachWebSockets(wss)
    const port = await listen(server)
    const stuck = await rawWebSocket(port)
    cleanup.push(() => stuck.socket.destroy())
    const report = await shutdown.shutdown()
    await stuck.closed
    expect(closeCode(stuck.received())).toBe(1001)
    expect(report.connections).toMatchObject({ forced: 1, byKind: { upgraded: 1 } })
    expect(report.exitCode).toBe(1)
  })

  it('works with a noServer WebSocketServer without clientTracking', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000 })
    const server = httpServer(shutdown)
    const wss = new WebSocketServer({ noServer: true, clientTracking: false })
    cleanup.push(() => wss.close())
    server.on('upgrade', (req: IncomingMessage, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
    shutdown.attachWebSockets(wss)
    const port = await listen(server)
    const client = await wsClient(port)
    const report = await shutdown.shutdown()
    expect((await client.closed).code).toBe(1001)
    expect(report.connections).toMatchObject({ closedAfterResponse: 1, forced: 0, byKind: { upgraded: 1 } })
    expect(drainDuration(report)).toBeLessThan(900)
  })

  it('refuses a new upgrade asked for on a keep-alive connection during the drain with 503', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000, idleLingerMs: 5000 })
    const server = httpServer(shutdown)
    const wss = new WebSocketServer({ server })
    cleanup.push(() => wss.close())
    shutdown.attachWebSockets(wss)
    let connections = 0
    wss.on('connection', () => connections++)
    const port = await listen(server)
    const socket = connect(port, '127.0.0.1')
    cleanup.push(() => socket.destroy())
    await once(socket, 'connect')
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(String((await once(socket, 'data'))[0])).toMatch(/^HTTP\/1\.1 200/)
    const draining = untilDraining(shutdown)
    const done = shutdown.shutdown()
    await draining
    const answer = await rawExchange(
      socket,
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/)
    expect(answer).toContain('Retry-After: 1\r\n')
    expect(answer.endsWith('Service Unavailable: shutting down')).toBe(true)
    const report = await done
    expect(connections).toBe(0)
    expect(report.requests.rejected).toBe(1)
    expect(report.connections).toMatchObject({ forced: 0, closedAfterResponse: 1 })
    expect(report.exitCode).toBe(0)
  })

  it('rejects what is not a WebSocketServer', () => {
    const shutdown = controller()
    expect(() => shutdown.attachWebSockets(null as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION', option: 'attachWebSockets(wss)' }))
    expect(() => createShutdown({ webSocketCloseTimeoutMs: -1 })).toThrow(/webSocketCloseTimeoutMs/)
  })
})
