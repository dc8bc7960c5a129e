import { connect as h2connect, type ClientHttp2Session } from 'node:http2'
import type { Agent } from 'node:http'
import { request as httpRequest } from 'node:http'
import { reached as lifecycleReached, type ShutdownController, type ShutdownOptions, type ShutdownReport, type ShutdownState } from '@lastcall/core'
import { afterEach, describe, expect, it as vit } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { drainChild, drainInProcess } from '@lastcall/testing'
import type { AdapterApp, AdapterUnderTest, AppVariant } from './app.js'
import { TestKit } from './app.js'
import { startFixture, type Fixture } from './child.js'
import { describeTrafficShapes } from './shapes.js'
import { get, h2get as h2getOn, hammerAgent, type Outcome, hammerFetch, idleSockets, keepAliveAgent, send } from '@lastcall/test-utils'
import { startRemote } from './remote.js'
import { defaultRuntime, fixtureCommand, type Runtime } from '@lastcall/test-utils'

/** Options every conformance test starts from: no signals, no exit, short deadlines. */
export const TEST_OPTIONS: ShutdownOptions = { logger: false, signals: [], exit: false, readinessDelayMs: 0, drainTimeoutMs: 5000, timeoutMs: 15_000 }

/** Resolves once the controller has reached `state` (or a later one). */
export function reached(controller: ShutdownController, state: ShutdownState): Promise<void> {
  return lifecycleReached(controller, state)
}

interface Started {
  /** Undefined when the app runs in another process (`runtime`). */
  app: AdapterApp | undefined
  kit: TestKit
  port: number
  controller: ShutdownController
}

export interface ConformanceOptions {
  /**
   * Run the app on this runtime, in a child process driven over stdin (the
   * tests stay on Node): `runConformance(adapter, { runtime: 'bun' })`. Tests
   * that need the app's objects in the test process (`drainInProcess`, a `ws`
   * server attached from the test, HTTP/2, a logger function) are left out.
   * Skipped, with the reason, when the runtime cannot be installed here.
   */
  runtime?: Runtime | undefined
}

/**
 * Tests a runtime's own `node:http` keeps from passing, with the measured
 * reason (docs/runtimes.md). They run as `it.fails`: the day the runtime
 * fixes it, the test reports it and the entry goes.
 */
const KNOWN_FAILURES: Partial<Record<Runtime, Record<string, string>>> = {}

/**
 * The one suite every lastcall adapter passes. An adapter's test file is one
 * line: `runConformance(adapter)`. See `AdapterApp` for the routes its app serves.
 */
export function runConformance(adapter: AdapterUnderTest, conformance: ConformanceOptions = {}): void {
  const { runtime } = conformance
  const knownFailures: Record<string, string> = { ...(runtime && KNOWN_FAILURES[runtime]), ...adapter.knownFailures }
  const unavailable = runtime === undefined ? undefined : fixtureCommand(runtime, adapter.fixture).skip
  const title = `${adapter.name}${runtime ? ` on ${runtime}` : ''} conformance${unavailable ? ` [SKIPPED: ${unavailable}]` : ''}`
  /** Registers a test, as `it.fails` when this runtime is known to fail it. */
  const it = ((name: string, fn: () => Promise<void>) => {
    const unreliable = adapter.unreliable?.[name]
    if (unreliable !== undefined) return vit.skip(`${name} [SKIPPED: ${unreliable}]`, fn)
    return knownFailures[name] === undefined ? vit(name, fn) : vit.fails(`${name} [expected to fail${runtime ? ` on ${runtime}` : ''}: ${knownFailures[name]}]`, fn)
  }) as typeof vit
  /** In-process only: not registered when the app runs elsewhere. */
  const local = runtime === undefined
  ;(unavailable === undefined ? describe : describe.skip)(title, () => {
    const cleanups: Array<() => unknown> = []

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    async function start(options: ShutdownOptions = {}, variant: AppVariant = {}): Promise<Started> {
      if (runtime !== undefined) {
        const remote = await startRemote(adapter, runtime, { ...TEST_OPTIONS, ...options }, variant)
        cleanups.push(() => remote.fixture.kill())
        return { app: undefined, kit: remote.kit, port: remote.port, controller: remote.controller }
      }
      const kit = new TestKit()
      const app = await adapter.create({ ...TEST_OPTIONS, ...options }, kit, variant)
      cleanups.push(() => {
        // Whatever the test left running: open the gate, drop every socket, close the listener, remove signal handlers.
        kit.openGate()
        const server = app.server as Partial<import('node:http').Server>
        server.closeAllConnections?.()
        if (app.server.listening) app.server.close()
        app.controller.dispose()
      })
      const port = await app.listen()
      return { app, kit, port, controller: app.controller }
    }

    function agent(maxSockets = 8): Agent {
      const a = keepAliveAgent(false, maxSockets)
      cleanups.push(() => a.destroy())
      return a
    }

    /** Opens `n` keep-alive sockets on `a` and leaves them idle in its pool. */
    async function warm(s: Started, a: Agent, n: number): Promise<void> {
      const before = s.kit.notes.filter((e) => e === 'hold').length
      const replies = Array.from({ length: n }, () => get(s.port, '/hold', { agent: a }))
      await s.kit.waitNote('hold', before + n)
      s.kit.openGate()
      for (const reply of await Promise.all(replies)) expect(reply.status).toBe(200)
      expect(idleSockets(a)).toBe(n)
    }

    /** Starts a request that stays in flight until the gate opens, keeping the drain going. */
    async function holdOne(s: Started): Promise<{ done: Promise<Outcome> }> {
      const before = s.kit.notes.filter((e) => e === 'hold').length
      const done = send(s.port, '/hold', { agent: false })
      await s.kit.waitNote('hold', before + 1)
      // Wrapped: an async function returning the promise itself would wait for it.
      return { done }
    }

    // The matrix reads the app's server in the test process: in-process runs only.
    const startLocal = async (options?: ShutdownOptions, variant?: AppVariant) => {
      const s = await start(options, variant)
      return { ...s, app: s.app! }
    }
    if (local) describeTrafficShapes(adapter, { start: startLocal, agent, warm, holdOne, reached, cleanup: (fn) => cleanups.push(fn) })

    describe('probes', () => {
      it('answer before the app while starting and serving', async () => {
        const s = await start({ manualReady: true })
        const starting = await get(s.port, '/readyz')
        expect(starting.status).toBe(503)
        expect(starting.body).toContain('[-]started failed')
        expect(starting.headers['cache-control']).toBe('no-store')
        expect((await get(s.port, '/healthz')).body).toBe('ok')
        s.controller.ready()
        await reached(s.controller, 'serving')
        const serving = await get(s.port, '/readyz')
        expect(serving).toMatchObject({ status: 200, body: 'ok' })
        expect((await get(s.port, '/livez')).status).toBe(200)
        // An app route that is not a probe still reaches the app.
        expect(await get(s.port, '/ok')).toMatchObject({ status: 200, body: 'ok' })
      })

      it('fail readiness and keep liveness during the readiness delay, while app routes are served as usual', async () => {
        const s = await start({ readinessDelayMs: 60_000, timeoutMs: 90_000 })
        await reached(s.controller, 'serving')
        const a = agent()
        await warm(s, a, 1)
        void s.controller.shutdown('test')
        await reached(s.controller, 'leaving')
        expect(s.controller.state).toBe('leaving')
        const ready = await get(s.port, '/readyz', { agent: a })
        expect(ready.status).toBe(503)
        expect(ready.body).toContain('[-]shutdown failed: shutting down')
        const live = await get(s.port, '/healthz', { agent: a })
        expect(live).toMatchObject({ status: 200, body: 'ok', reused: true })
        const ok = await get(s.port, '/ok', { agent: a })
        expect(ok).toMatchObject({ status: 200, body: 'ok', reused: true })
        expect(ok.headers.connection).not.toBe('close')
        // New connections are still accepted during the delay.
        expect((await get(s.port, '/ok', { agent: false })).status).toBe(200)
      })

      it('stay reachable on open connections while draining: liveness 200, readiness 503', async () => {
        const s = await start({ idleLingerMs: 10_000 })
        const a = agent(2)
        await warm(s, a, 2)
        const held = await holdOne(s)
        const report = s.controller.shutdown('test')
        await reached(s.controller, 'draining')
        const live = await get(s.port, '/healthz', { agent: a })
        expect(live).toMatchObject({ status: 200, body: 'ok', reused: true })
        expect(live.headers.connection).toBe('close')
        const ready = await get(s.port, '/readyz', { agent: a })
        expect(ready).toMatchObject({ status: 503, reused: true })
        s.kit.openGate()
        expect(await held.done).toMatchObject({ ok: true, reply: { status: 200, body: 'held' } })
        expect((await report).exitCode).toBe(0)
      })
    })

    describe('requests during the drain', () => {
      it('serves a request on an open connection with Connection: close by default', async () => {
        const s = await start({ idleLingerMs: 10_000 })
        const a = agent(1)
        await warm(s, a, 1)
        const held = await holdOne(s)
        const report = s.controller.shutdown('test')
        await reached(s.controller, 'draining')
        const ok = await get(s.port, '/ok', { agent: a })
        expect(ok).toMatchObject({ status: 200, body: 'ok', reused: true })
        expect(ok.headers.connection).toBe('close')
        // The listener is closed: new connections are refused.
        expect(await send(s.port, '/ok', { agent: false })).toMatchObject({ ok: false, code: 'ECONNREFUSED' })
        s.kit.openGate()
        await held.done
        const final = await report
        expect(final.requests.rejected).toBe(0)
        expect(final.exitCode).toBe(0)
      })

      it('rejects with 503, Retry-After and Connection: close under whileDraining "reject", counted, probes still answering', async () => {
        const s = await start({ idleLingerMs: 10_000, whileDraining: 'reject' })
        const a = agent(2)
        await warm(s, a, 2)
        const held = await holdOne(s)
        const report = s.controller.shutdown('test')
        await reached(s.controller, 'draining')
        const rejected = await get(s.port, '/ok', { agent: a })
        expect(rejected.status).toBe(503)
        expect(rejected.reused).toBe(true)
        expect(rejected.headers['retry-after']).toBe('1')
        expect(rejected.headers.connection).toBe('close')
        adapter.expectRejectedBody(rejected.body, rejected.headers['content-type'])
        expect(await get(s.port, '/healthz', { agent: a })).toMatchObject({ status: 200, body: 'ok' })
        s.kit.openGate()
        expect(await held.done).toMatchObject({ ok: true, reply: { status: 200 } })
        const final = await report
        expect(final.requests.rejected).toBe(1)
        expect(final.exitCode).toBe(0)
      })

      it('completes a request in flight when the drain starts, sends it Connection: close and closes its keep-alive socket at once', async () => {
        // drainTimeoutMs far below any keepAliveTimeout a framework sets (Fastify: 72 s): a
        // socket left open after its response would be force-closed and counted.
        const s = await start({ drainTimeoutMs: 3000 })
        const a = agent(1)
        await warm(s, a, 1)
        const holds = s.kit.notes.filter((e) => e === 'hold').length
        const pending = get(s.port, '/hold', { agent: a })
        await s.kit.waitNote('hold', holds + 1)
        const report = s.controller.shutdown('test')
        await reached(s.controller, 'draining')
        s.kit.openGate()
        const reply = await pending
        expect(reply).toMatchObject({ status: 200, body: 'held', reused: true })
        expect(reply.headers.connection).toBe('close')
        const final = await report
        expect(final.requests.inFlightAtDrain).toBe(1)
        expect(final.requests.completed).toBeGreaterThanOrEqual(1)
        expect(final.requests.forced).toBe(0)
        expect(final.connections.forced).toBe(0)
        expect(final.connections.closedAfterResponse).toBe(1)
        expect(final.exitCode).toBe(0)
      })

      it('lets keep-alive clients (http.Agent and fetch) hammer through the drain without a reset on a reused socket', async () => {
        const s = await start()
        const agents = [agent(2), agent(2), agent(2)]
        let total = 0
        let report: Promise<ShutdownReport> | undefined
        const onCount = (): void => {
          total++
          // Mid-load: every client has had a few responses.
          if (total === 60) report = s.controller.shutdown('test')
        }
        const results = await Promise.all([
          ...agents.map((a) => hammerAgent(s.port, '/ok', a, { onCount })),
          hammerFetch(s.port, '/ok', { onCount }),
          hammerFetch(s.port, '/ok', { onCount }),
        ])
        expect(report).toBeDefined()
        const final = await report!
        for (const r of results) {
          expect(r.resetsOnReused, `${r.client} resets`).toEqual([])
          expect(Object.keys(r.statuses), `${r.client} statuses`).toEqual(['200'])
          expect(r.freshErrors.every((code) => code === 'ECONNREFUSED'), `${r.client}: ${r.freshErrors.join(',')}`).toBe(true)
        }
        // Requests did arrive on open connections during the drain, and got Connection: close.
        expect(results.reduce((n, r) => n + r.closes, 0)).toBeGreaterThan(0)
        expect(final.requests.forced).toBe(0)
        expect(final.exitCode).toBe(0)
      })
      if (local) it('passes @lastcall/testing drainInProcess: held requests complete with Connection: close, none reset', async () => {
        const s = await start()
        const result = await drainInProcess({ controller: s.controller, server: s.app!.server as import('node:http').Server, slowPath: '/slow?ms=300', hold: 4 })
        expect(result.requests.map((r) => r.kind)).toEqual(['completed', 'completed', 'completed', 'completed'])
        expect(result.requests.every((r) => r.status === 200 && r.connectionClose)).toBe(true)
        expect(result.report?.exitCode).toBe(0)
      })
    })

    describe('signals and deadlines', () => {
      it('exposes the drain signal to handlers: it aborts when the drain starts', async () => {
        const s = await start()
        const pending = get(s.port, '/signal')
        await s.kit.waitNote('signal')
        const report = s.controller.shutdown('test')
        const reply = await pending
        expect(reply).toMatchObject({ status: 200, body: 'LASTCALL_DRAINING' })
        await s.kit.waitNote('aborted:LASTCALL_DRAINING')
        expect((await report).exitCode).toBe(0)
      })

      it('answers 503 when a handler passes requestTimeoutMs before sending its head, and aborts its signal', async () => {
        const s = await start({ requestTimeoutMs: 200 })
        const hang = await get(s.port, '/hang')
        expect(hang.status).toBe(503)
        expect(hang.headers['retry-after']).toBe('1')
        const signalled = await get(s.port, '/signal')
        expect(signalled.status).toBe(503)
        await s.kit.waitNote('aborted:LASTCALL_REQUEST_TIMEOUT')
        // A fast request is not affected.
        expect((await get(s.port, '/ok')).status).toBe(200)
      })

      it('cuts the connection when a handler passes requestTimeoutMs after sending its head', async () => {
        const s = await start({ requestTimeoutMs: 200 })
        const outcome = await send(s.port, '/partial')
        expect(outcome.ok).toBe(false)
        await s.kit.waitNote('partial')
      })

      it('applies requestTimeoutMs during the drain too, and counts it', async () => {
        const s = await start({ requestTimeoutMs: 300, drainTimeoutMs: 5000 })
        const pending = get(s.port, '/hang')
        await s.kit.waitNote('hang')
        const report = s.controller.shutdown('test')
        expect((await pending).status).toBe(503)
        const final = await report
        expect(final.requests.timedOut).toBe(1)
        expect(final.requests.forced).toBe(0)
      })

      it('ends an SSE stream with a final event when the drain starts, well before the deadline', async () => {
        const s = await start({ drainTimeoutMs: 5000 })
        const events: string[] = []
        const ended = new Promise<void>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: s.port, path: '/sse', agent: false }, (res) => {
            expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
            res.setEncoding('utf8')
            let buffer = ''
            res.on('data', (chunk: string) => {
              buffer += chunk
              let at: number
              while ((at = buffer.indexOf('\n\n')) !== -1) {
                events.push(buffer.slice(0, at))
                buffer = buffer.slice(at + 2)
                if (events.length === 1) void s.controller.shutdown('test')
              }
            })
            res.on('end', () => resolve())
            res.on('error', reject)
          })
          req.on('error', reject)
          req.end()
        })
        await ended
        expect(events[0]).toContain('data: hello')
        expect(events.at(-1)).toBe('event: bye\ndata: draining')
        const final = await new Promise<ShutdownReport>((resolve) => {
          if (s.controller.report) resolve(s.controller.report)
          else s.controller.once('closed', resolve)
        })
        expect(final.requests.forced).toBe(0)
        expect(final.exitCode).toBe(0)
      })
    })

    if (local) describe('WebSocket', () => {
      it('sends a ws client close code 1001 when the drain starts, and the drain does not wait for the deadline', async () => {
        const s = await start({ drainTimeoutMs: 5000 })
        const wss = s.controller.attachWebSockets(new WebSocketServer({ server: s.app!.server as import('node:http').Server }))
        cleanups.push(() => wss.close())
        wss.on('connection', (socket) => socket.send('hello'))
        const client = new WebSocket(`ws://127.0.0.1:${s.port}/ws`)
        cleanups.push(() => client.terminate())
        await new Promise<void>((resolve, reject) => {
          client.once('message', () => resolve())
          client.once('error', reject)
        })
        const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)))
        const report = s.controller.shutdown('test')
        expect(await closed).toBe(1001)
        const final = await report
        expect(final.connections.forced).toBe(0)
        expect(final.exitCode).toBe(0)
      })
    })

    // Only for frameworks that have it: not registered (rather than skipped) for the others.
    if (adapter.supports?.http2 && local) describe('HTTP/2', () => {
      it('completes a stream in flight when the drain starts, refuses new streams after GOAWAY, exits 0', async () => {
        const s = await start({}, { http2: true })
        const session: ClientHttp2Session = h2connect(`http://127.0.0.1:${s.port}`)
        cleanups.push(() => session.destroy())
        const h2get = (path: string) => h2getOn(session, path)
        expect(await h2get('/ok')).toEqual({ status: 200, body: 'ok' })
        const before = s.kit.notes.filter((e) => e === 'hold').length
        const pending = h2get('/hold')
        await s.kit.waitNote('hold', before + 1)
        const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()))
        const report = s.controller.shutdown('test')
        await goaway
        await expect(h2get('/ok')).rejects.toThrow()
        s.kit.openGate()
        expect(await pending).toEqual({ status: 200, body: 'held' })
        const final = await report
        expect(final.requests.forced).toBe(0)
        expect(final.exitCode).toBe(0)
      })
    })

    // Only for frameworks that have it: not registered (rather than skipped) for the others.
    if (adapter.supports?.autoAttach && local) describe('without attach()', () => {
      it('attaches the server from the first request, warns once, and still drains it', async () => {
        const warnings: string[] = []
        const logger = { info: () => {}, warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')), error: () => {} }
        const s = await start({ logger }, { attach: false })
        const a = agent(1)
        expect((await get(s.port, '/ok', { agent: a })).status).toBe(200)
        expect((await get(s.port, '/ok', { agent: a })).status).toBe(200)
        const attachWarnings = warnings.filter((w) => w.includes('attach'))
        expect(attachWarnings).toHaveLength(1)
        expect(attachWarnings[0]).toMatch(/opened before/)
        await reached(s.controller, 'serving')
        const held = await holdOne(s)
        const report = s.controller.shutdown('test')
        await reached(s.controller, 'draining')
        s.kit.openGate()
        expect(await held.done).toMatchObject({ ok: true, reply: { status: 200, headers: { connection: 'close' } } })
        a.destroy()
        const final = await report
        expect(final.requests.inFlightAtDrain).toBe(1)
        expect(final.exitCode).toBe(0)
      })
    })

    describe('a real process', () => {
      let fixture: Fixture | undefined
      afterEach(() => fixture?.kill())

      it('exits 0 on SIGTERM after the request in flight completes with 200', async () => {
        fixture = await startFixture(adapter.fixture, { options: { drainTimeoutMs: 5000, readinessDelayMs: 0 } }, { runtime })
        const pending = get(fixture.port, '/slow?ms=300')
        await fixture.waitFor((e) => e.event === 'note' && e.name === 'slow')
        fixture.child.kill('SIGTERM')
        const reply = await pending
        expect(reply).toMatchObject({ status: 200, body: 'slow' })
        expect(reply.headers.connection).toBe('close')
        const { code } = await fixture.exited
        expect(code, fixture.stderr()).toBe(0)
        const report = fixture.events.find((e) => e.event === 'report')?.report as ShutdownReport | undefined
        expect(report?.trigger).toEqual({ type: 'signal', signal: 'SIGTERM' })
        expect(report?.requests.completed).toBeGreaterThanOrEqual(1)
      })

      it('passes @lastcall/testing drainChild: every held request completes, exit 0', async () => {
        const result = await drainChild({
          command: fixtureCommand(runtime ?? defaultRuntime(), adapter.fixture).command!,
          env: { ...process.env, LASTCALL_FIXTURE: JSON.stringify({ options: { drainTimeoutMs: 5000, readinessDelayMs: 0 } }) },
          slowPath: '/slow?ms=400',
          hold: 4,
          // A Nest fixture under tsx needs up to ~10 s to answer /readyz on a busy shared machine (drainChild's default bound).
          startupTimeoutMs: 30_000,
        })
        expect(result.requests.map((r) => r.kind)).toEqual(['completed', 'completed', 'completed', 'completed'])
        expect(result.requests.every((r) => r.status === 200 && r.connectionClose)).toBe(true)
        expect(result.exitCode).toBe(0)
        expect(result.report?.requests.forced).toBe(0)
      })

      it('exits non-zero when a request is still running at the drain deadline', async () => {
        fixture = await startFixture(adapter.fixture, { options: { drainTimeoutMs: 300, readinessDelayMs: 0 } }, { runtime })
        const pending = send(fixture.port, '/hang')
        await fixture.waitFor((e) => e.event === 'note' && e.name === 'hang')
        fixture.child.kill('SIGTERM')
        expect((await pending).ok).toBe(false)
        const { code } = await fixture.exited
        expect(code).toBe(1)
      })
    })
  })
}
