import { once } from 'node:events'
import {
  createSecureServer,
  createServer as createH2cServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tlsOptions } from '@lastcall/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown, type ShutdownOptions } from '../src/index.js'
import { FakeClock } from './fakeClock.js'
import { keepAliveAgent, send } from './helpers.js'
import { closedByTheDrain, h2client, h2send, recordGoaways } from './longLivedClients.js'

const tls = tlsOptions()

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

function controller(options: ShutdownOptions = {}) {
  // These tests are about the drain: no readiness delay.
  return createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, ...options })
}

/**
 * A compatibility-API app: `/slow` (answers when the test emits `release` on
 * the server, so it is in flight for as long as the test's steps take),
 * `/hang`, anything else answers "ok" at once.
 */
function app(server: () => Http2Server | Http2SecureServer) {
  return (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    server().emit('app-request', req, res)
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/slow') {
      const release = (): void => void res.end('slow')
      server().once('release', release)
      res.on('close', () => server().off('release', release))
      return
    }
    if (url.pathname === '/hang') return
    res.end('ok')
  }
}

async function listen(server: Http2Server | Http2SecureServer): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanup.push(() => server.close())
  return (server.address() as AddressInfo).port
}

async function client(port: number, secure = false): Promise<ClientHttp2Session> {
  const session = await h2client(port, secure)
  cleanup.push(() => session.destroy())
  return session
}

describe('ShutdownController.attach with node:http2', () => {
  it('accepts h2c and TLS HTTP/2 servers (with and without allowHTTP1), and rejects a bare net.Server', () => {
    const shutdown = controller()
    const servers = [createH2cServer(), createSecureServer(tls), createSecureServer({ ...tls, allowHTTP1: true })]
    for (const server of servers) expect(shutdown.attach(server)).toBe(server)
    expect(() => shutdown.attach(createNetServer() as never)).toThrow(/http, https or http2 server/)
  })

  it('leaves a stream-only HTTP/2 server in stream mode (attaching switches on no compatibility layer)', async () => {
    const shutdown = controller()
    const server = createH2cServer()
    // The compatibility layer would answer 417 to an unknown Expect header by
    // itself, before this handler, if it were switched on.
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 })
      stream.end('from the stream handler')
    })
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    const outcome = await h2send(session, '/', { expect: 'something-else' })
    expect(outcome).toMatchObject({ ok: true, status: 200, body: 'from the stream handler' })
    expect(server.listenerCount('request')).toBe(0)
  })
})

describe('ShutdownController drain of HTTP/2 sessions', () => {
  for (const secure of [false, true]) {
    const name = secure ? 'TLS (h2)' : 'h2c'
    it(`${name}: lets the stream in flight finish with 200, refuses new streams after GOAWAY, and ends right after the last stream`, async () => {
      const shutdown = controller({ drainTimeoutMs: 5000 })
      const server: Http2Server | Http2SecureServer = secure ? createSecureServer(tls, app(() => server)) : createH2cServer(app(() => server))
      shutdown.attach(server)
      const port = await listen(server)
      const session = await client(port, secure)
      const goaways = recordGoaways(session)
      expect(await h2send(session, '/')).toMatchObject({ ok: true, status: 200 })
      const slow = h2send(session, '/slow')
      await once(server, 'app-request')
      const firstGoaway = once(session, 'goaway')
      const done = shutdown.shutdown()
      await firstGoaway
      // Node's client closes its session on a GOAWAY: the stream is refused before it leaves.
      expect(await h2send(session, '/')).toEqual({ ok: false, code: 'ERR_HTTP2_GOAWAY_SESSION' })
      server.emit('release')
      expect(await slow).toMatchObject({ ok: true, status: 200, body: 'slow' })
      const report = await done
      // The two-step GOAWAY: first the maximum stream id, then the real last one (stream 3).
      expect(goaways[0]).toEqual([0, 2 ** 31 - 1])
      expect(goaways.at(-1)).toEqual([0, 3])
      expect(report.requests).toMatchObject({ inFlightAtDrain: 1, completed: 1, aborted: 0, forced: 0 })
      expect(report.connections).toMatchObject({ openAtDrain: 1, closedAfterResponse: 1, forced: 0, byKind: { http1: 0, h2: 1, upgraded: 0 } })
      expect(report.exitCode).toBe(0)
      // Ended by the drain itself after the last stream, not by the 5000 ms deadline.
      expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
    })
  }

  it('closes an idle HTTP/2 session with GOAWAY within the PING round trip or the linger, long before the deadline', async () => {
    // Node's own client closes its session on the first GOAWAY without
    // answering the PING, so the server waits for it at most idleLingerMs.
    const shutdown = controller({ drainTimeoutMs: 5000, idleLingerMs: 100 })
    const server: Http2Server = createH2cServer(app(() => server))
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    expect(await h2send(session, '/')).toMatchObject({ ok: true, status: 200 })
    const closed = once(session, 'close')
    const report = await shutdown.shutdown()
    await closed
    expect(report.connections).toMatchObject({ openAtDrain: 1, closedIdle: 1, forced: 0, byKind: { h2: 1 } })
    expect(report.exitCode).toBe(0)
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })

  it('destroys a session whose stream hangs at drainTimeoutMs, counts the stream and the session as forced, and exits 1', async () => {
    const shutdown = controller({ drainTimeoutMs: 300 })
    const server: Http2Server = createH2cServer(app(() => server))
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    const hung = h2send(session, '/hang')
    await once(server, 'app-request')
    const report = await shutdown.shutdown()
    expect((await hung).ok).toBe(false)
    expect(report.requests).toMatchObject({ inFlightAtDrain: 1, forced: 1, completed: 0 })
    expect(report.connections).toMatchObject({ forced: 1, byKind: { h2: 1 } })
    expect(report.exitCode).toBe(1)
  })

  it('aborts signalFor(req) of an HTTP/2 request when the drain starts, so a streaming handler can finish', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000 })
    const server: Http2Server = createH2cServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('streaming;')
      shutdown.signalFor(req).addEventListener('abort', () => res.end('finished'), { once: true })
      server.emit('app-request')
    })
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    const pending = h2send(session, '/stream')
    await once(server, 'app-request')
    expect(shutdown.inFlight).toBe(1)
    const report = await shutdown.shutdown()
    expect(await pending).toMatchObject({ ok: true, status: 200, body: 'streaming;finished' })
    expect(report.requests).toMatchObject({ completed: 1, forced: 0 })
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })

  it('answers an HTTP/2 stream that passes requestTimeoutMs with 503 and Retry-After, and keeps the session for other streams', async () => {
    const shutdown = controller({ requestTimeoutMs: 100 })
    const reasons: unknown[] = []
    const server: Http2Server = createH2cServer((req, res) => {
      shutdown.signalFor(req).addEventListener('abort', (e) => reasons.push((e.target as AbortSignal).reason), { once: true })
      if (req.url === '/hang') return
      res.end('ok')
    })
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    const hung = await h2send(session, '/hang')
    expect(hung).toMatchObject({ ok: true, status: 503, headers: { 'retry-after': '1' } })
    expect(hung.ok && hung.headers.connection).toBeUndefined()
    expect(reasons).toEqual([expect.objectContaining({ code: 'LASTCALL_REQUEST_TIMEOUT' })])
    expect(await h2send(session, '/')).toMatchObject({ ok: true, status: 200, body: 'ok' })
    await shutdown.shutdown()
  })

  it('gives signalFor(stream) the per-request deadline on the stream API too', async () => {
    const shutdown = controller({ requestTimeoutMs: 100 })
    const server = createH2cServer()
    const reasons: unknown[] = []
    server.on('stream', (stream) => {
      shutdown.signalFor(stream).addEventListener('abort', (e) => reasons.push((e.target as AbortSignal).reason), { once: true })
    })
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    expect(await h2send(session, '/hang')).toMatchObject({ ok: true, status: 503 })
    expect(reasons).toEqual([expect.objectContaining({ code: 'LASTCALL_REQUEST_TIMEOUT' })])
    await shutdown.shutdown()
  })

  it('rejects an HTTP/2 request with 503 and Retry-After, without a Connection header (illegal in HTTP/2)', async () => {
    const shutdown = controller()
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    cleanup.push(() => process.off('warning', onWarning))
    const server = createH2cServer((_req, res) => shutdown.reject(res))
    const port = await listen(server)
    const session = await client(port)
    const outcome = await h2send(session, '/')
    expect(outcome).toMatchObject({ ok: true, status: 503, headers: { 'retry-after': '1' }, body: 'Service Unavailable: shutting down\n' })
    expect(outcome.ok && outcome.headers.connection).toBeUndefined()
    // Node drops a Connection header on HTTP/2 with an UnsupportedWarning.
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.map((w) => w.message)).toEqual([])
  })
})

describe('ShutdownController drain of HTTP/1.1 on an allowHTTP1 HTTP/2 server', () => {
  it('drains HTTP/1.1 keep-alive sockets (Connection: close, linger) beside an HTTP/2 session', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000, idleLingerMs: 100 })
    const server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: true }, app(() => server))
    shutdown.attach(server)
    const port = await listen(server)
    const agent = keepAliveAgent(true, 2)
    cleanup.push(() => agent.destroy())
    // One idle keep-alive socket and one busy one, both HTTP/1.1.
    const [a, b] = await Promise.all([send(port, '/', { agent, secure: true }), send(port, '/', { agent, secure: true })])
    expect(a.ok && a.reply.headers.connection).toBe('keep-alive')
    expect(b.ok).toBe(true)
    const slow1 = send(port, '/slow', { agent, secure: true })
    await once(server, 'app-request')
    const session = await client(port, true)
    const slow2 = h2send(session, '/slow')
    await once(server, 'app-request')
    const done = shutdown.shutdown()
    await shutdown.reached('draining')
    server.emit('release')
    const report = await done
    const [r1, r2] = await Promise.all([slow1, slow2])
    expect(r1.ok && r1.reply.status).toBe(200)
    expect(r1.ok && r1.reply.headers.connection).toBe('close')
    expect(r2).toMatchObject({ ok: true, status: 200 })
    expect(report.requests).toMatchObject({ inFlightAtDrain: 2, completed: 2, forced: 0 })
    expect(report.connections).toMatchObject({ openAtDrain: 3, closedIdle: 1, closedAfterResponse: 2, forced: 0, byKind: { http1: 2, h2: 1 } })
    expect(report.exitCode).toBe(0)
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })

  it('destroys a busy HTTP/1.1 socket at the deadline (the server has no closeAllConnections) and counts it', async () => {
    const shutdown = controller({ drainTimeoutMs: 300 })
    const server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: true }, app(() => server))
    shutdown.attach(server)
    const port = await listen(server)
    const hung = send(port, '/hang', { agent: false, secure: true })
    await once(server, 'app-request')
    const report = await shutdown.shutdown()
    expect((await hung).ok).toBe(false)
    expect(report.requests.forced).toBe(1)
    expect(report.connections).toMatchObject({ forced: 1, byKind: { http1: 1, h2: 0 } })
    expect(report.exitCode).toBe(1)
    expect(server.listening).toBe(false)
  })
})

describe('probes over HTTP/2', () => {
  it('answers /readyz and /healthz through handler() on an HTTP/2 server: ready, then readiness 503 and liveness 200 while leaving', async () => {
    // A hand-driven clock holds the shutdown in its readiness delay for as long as the test needs.
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 60_000, clock: new FakeClock() })
    const server: Http2Server = createH2cServer(shutdown.handler(app(() => server)))
    shutdown.attach(server)
    const port = await listen(server)
    const session = await client(port)
    await new Promise<void>((resolve) => (shutdown.isReady ? resolve() : shutdown.once('state', () => resolve())))
    expect(await h2send(session, '/readyz')).toMatchObject({ ok: true, status: 200, body: 'ok' })
    const done = shutdown.shutdown('probe test')
    const ready = await h2send(session, '/readyz?verbose')
    expect(ready).toMatchObject({ ok: true, status: 503 })
    expect(ready.ok && ready.body).toContain('[-]shutdown failed: shutting down')
    expect(ready.ok && ready.headers['cache-control']).toBe('no-store')
    expect(await h2send(session, '/healthz')).toMatchObject({ ok: true, status: 200 })
    expect(await h2send(session, '/app')).toMatchObject({ ok: true, status: 200, body: 'ok' })
    expect(shutdown.state).toBe('leaving')
    void done
  })
})
