import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createSecureServer, createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import type { AddressInfo, Server as NetServer } from 'node:net'
import { tlsOptions } from '@lastcall/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createShutdown, type ShutdownController, type ShutdownReport } from '../src/index.js'
import { keepAliveAgent, send, startFixture, type Fixture } from './helpers.js'
import { closedByTheDrain, h2client, h2send, sseClient } from './longLivedClients.js'

const tls = tlsOptions()

const cleanup: Array<() => void> = []
const running: Fixture[] = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
  for (const f of running.splice(0)) f.kill()
})

type AnyRequest = IncomingMessage | Http2ServerRequest
type AnyResponse = ServerResponse | Http2ServerResponse

/** Holds responses until the test opens it: what is "slow" is decided by the test's steps, not by a timer. */
function gate() {
  const waiting: Array<() => void> = []
  let open = false
  return {
    wait(fn: () => void): void {
      if (open) fn()
      else waiting.push(fn)
    },
    open(): void {
      open = true
      for (const fn of waiting.splice(0)) fn()
    },
  }
}

/** One app for HTTP/1.1 and HTTP/2 alike: `/slow` (held by `slow`), `/events` (SSE, following the drain signal), anything else "ok". */
function app(shutdown: ShutdownController, arrived: (path: string) => void, slow: ReturnType<typeof gate>) {
  return (req: AnyRequest, res: AnyResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x')
    arrived(url.pathname)
    if (url.pathname === '/slow') {
      slow.wait(() => void res.end('slow'))
      return
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      // Both response types have write(string); TypeScript cannot call the union of their overloads.
      ;(res as Pick<ServerResponse, 'write'>).write('event: hello\ndata: connected\n\n')
      const signal = shutdown.signalFor(req)
      const onDrain = (): void => void res.end('event: shutdown\ndata: reconnect\nretry: 1000\n\n')
      signal.addEventListener('abort', onDrain, { once: true })
      res.on('close', () => signal.removeEventListener('abort', onDrain))
      return
    }
    res.end('ok')
  }
}

function arrivals() {
  const seen: string[] = []
  const waiters: Array<{ path: string; count: number; resolve: () => void }> = []
  return {
    arrived(path: string): void {
      seen.push(path)
      for (const w of [...waiters]) {
        if (seen.filter((p) => p === w.path).length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    },
    /** Resolves once `count` requests for `path` arrived. */
    until(path: string, count: number): Promise<void> {
      if (seen.filter((p) => p === path).length >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ path, count, resolve }))
    },
  }
}

async function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanup.push(() => server.close())
  return (server.address() as AddressInfo).port
}

async function wsClient(url: string) {
  const ws = new WebSocket(url, { rejectUnauthorized: false })
  ws.on('error', () => {})
  cleanup.push(() => ws.terminate())
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  await once(ws, 'open')
  // Wrapped: an async function returning the promise itself would wait for it.
  return { closed }
}

// The WebSocket clients are this test process: on a loaded machine they may answer the close
// frame after the default 1 s close timeout, which would count them as forced. Not what these
// tests are about, so they get until the deadline.
describe('one controller draining every kind of connection at once', () => {
  it('drains HTTP/1.1 keep-alive, HTTP/2, WebSocket and SSE on one allowHTTP1 TLS server with nothing failed', async () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000, idleLingerMs: 100, webSocketCloseTimeoutMs: 5000 })
    const seen = arrivals()
    const slow = gate()
    const server = shutdown.attach(createSecureServer({ ...tls, allowHTTP1: true }, app(shutdown, seen.arrived, slow)))
    const wss = shutdown.attachWebSockets(new WebSocketServer({ server: server as never }))
    cleanup.push(() => wss.close())
    const port = await listen(server)

    const agent = keepAliveAgent(true, 2)
    cleanup.push(() => agent.destroy())
    await Promise.all([send(port, '/', { agent, secure: true }), send(port, '/', { agent, secure: true })])
    const http1Slow = send(port, '/slow', { agent, secure: true })
    const session = await h2client(port, true)
    cleanup.push(() => session.destroy())
    const h2Slow = h2send(session, '/slow')
    const h2Events = h2send(session, '/events')
    const sse = await sseClient(port, '/events', true)
    const { closed: wsClosed } = await wsClient(`wss://127.0.0.1:${port}/`)
    await Promise.all([seen.until('/slow', 2), seen.until('/events', 2), sse.waitForEvents(1)])

    const shutdownDone = shutdown.shutdown()
    // The slow responses end only once the drain has begun, however long the steps above took.
    await shutdown.reached('draining')
    slow.open()
    const report = await shutdownDone

    const slow1 = await http1Slow
    expect(slow1.ok && slow1.reply.status).toBe(200)
    expect(slow1.ok && slow1.reply.headers.connection).toBe('close')
    expect(await h2Slow).toMatchObject({ ok: true, status: 200, body: 'slow' })
    expect(await h2Events).toMatchObject({ ok: true, status: 200, body: expect.stringContaining('event: shutdown\ndata: reconnect\nretry: 1000') })
    expect(await sse.ended).toEqual({ complete: true })
    expect(sse.events.at(-1)).toEqual({ event: 'shutdown', data: 'reconnect', retry: '1000' })
    expect(await wsClosed).toBe(1001)

    expect(report.requests).toMatchObject({ inFlightAtDrain: 4, completed: 4, aborted: 0, forced: 0, timedOut: 0 })
    // HTTP/1.1: the busy and the idle keep-alive socket and the SSE socket; one HTTP/2 session; one WebSocket.
    expect(report.connections).toMatchObject({ openAtDrain: 5, forced: 0, byKind: { http1: 3, h2: 1, upgraded: 1 } })
    expect(report.exitCode).toBe(0)
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })

  it('drains an http server (keep-alive, SSE, ws) and an h2c server attached to the same controller', async () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, drainTimeoutMs: 5000, idleLingerMs: 100, webSocketCloseTimeoutMs: 5000 })
    const seen = arrivals()
    const slow = gate()
    const http = shutdown.attach(createServer(app(shutdown, seen.arrived, slow)))
    cleanup.push(() => http.closeAllConnections())
    const h2 = shutdown.attach(createH2cServer(app(shutdown, seen.arrived, slow)))
    const wss = shutdown.attachWebSockets(new WebSocketServer({ server: http }))
    cleanup.push(() => wss.close())
    const [httpPort, h2Port] = [await listen(http), await listen(h2)]

    const agent = keepAliveAgent(false, 1)
    cleanup.push(() => agent.destroy())
    await send(httpPort, '/', { agent })
    const session = await h2client(h2Port)
    cleanup.push(() => session.destroy())
    const h2Slow = h2send(session, '/slow')
    const sse = await sseClient(httpPort, '/events')
    const { closed: wsClosed } = await wsClient(`ws://127.0.0.1:${httpPort}/`)
    await Promise.all([seen.until('/slow', 1), sse.waitForEvents(1)])

    const shutdownDone = shutdown.shutdown()
    await shutdown.reached('draining')
    slow.open()
    const report = await shutdownDone

    expect(await h2Slow).toMatchObject({ ok: true, status: 200 })
    expect(await sse.ended).toEqual({ complete: true })
    expect(await wsClosed).toBe(1001)
    expect(report.requests).toMatchObject({ inFlightAtDrain: 2, completed: 2, forced: 0 })
    expect(report.connections).toMatchObject({ openAtDrain: 4, closedIdle: 1, forced: 0, byKind: { http1: 2, h2: 1, upgraded: 1 } })
    expect(report.exitCode).toBe(0)
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
    expect(http.listening || h2.listening).toBe(false)
  })
})

describe('SIGTERM to a process with HTTP/2 and WebSocket clients (real child process)', () => {
  it('finishes the HTTP/2 stream with 200, closes the WebSocket with 1001 and exits 0 with nothing left for the deadline', async () => {
    // The WebSocket client (this test process) may answer the close frame late on a loaded
    // machine: it gets until the deadline, since its close timeout is not what this test is about.
    const f = await startFixture('longLived.ts', { options: { drainTimeoutMs: 10_000, webSocketCloseTimeoutMs: 10_000 } })
    running.push(f)
    const [h2Port, httpPort] = f.ports as [number, number]
    const session = await h2client(h2Port)
    cleanup.push(() => session.destroy())
    const { closed: wsClosed } = await wsClient(`ws://127.0.0.1:${httpPort}/`)
    await f.waitFor((e) => e.event === 'ws-connection')
    const slow = h2send(session, '/slow')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await slow).toMatchObject({ ok: true, status: 200, body: 'slow' })
    expect(await wsClosed).toBe(1001)
    const exited = await f.exited
    const report = (await f.waitFor((e) => e.event === 'report')).report as ShutdownReport
    // Once a run exited 1 here under contention: the report says why next time.
    expect(exited, JSON.stringify(report)).toEqual({ code: 0, signal: null })
    expect(report).toMatchObject({ trigger: { type: 'signal', signal: 'SIGTERM' }, exitCode: 0 })
    expect(report.requests).toMatchObject({ inFlightAtDrain: 1, completed: 1, forced: 0 })
    expect(report.connections).toMatchObject({ forced: 0, byKind: { h2: 1, upgraded: 1 } })
    // The stream ends when the drain starts; nothing was left for the 10 s deadline.
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })
})
