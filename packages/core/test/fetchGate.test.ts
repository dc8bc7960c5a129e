import { afterEach, describe, expect, it } from 'vitest'
import { FetchGate, type FetchGateOptions, type FetchResult, type LastcallRequest, type NativeServer, type NativeWebSocket } from '../src/adapter.js'
import { createShutdown, reached, type DelayDecision, type ShutdownController, type ShutdownOptions, type ShutdownReport } from '../src/index.js'
import { FakeClock } from './fakeClock.js'

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn()
})

/**
 * A native server as a runtime's driver hands it over (`Bun.serve`'s stop(false)
 * / stop(true)): it records the calls, and its `stop()` settles when the test says.
 */
class FakeNativeServer implements NativeServer {
  readonly calls: string[] = []
  readonly stopClosesIdle: boolean
  /** Set by a test to play a server that counts the responses it is still sending (Bun's `pendingRequests`). */
  pending?: () => number
  #finish!: () => void
  readonly #finished = new Promise<void>((resolve) => (this.#finish = resolve))

  constructor(stopClosesIdle = true) {
    this.stopClosesIdle = stopClosesIdle
  }

  stop(): Promise<void> {
    this.calls.push('stop')
    return this.#finished
  }

  force(): void {
    this.calls.push('force')
    this.#finish()
  }

  /** The runtime's last connection is done: `stop()`'s promise settles. */
  finish(): void {
    this.#finish()
  }
}

class FakeWebSocket implements NativeWebSocket {
  readonly closes: Array<[number | undefined, string | undefined]> = []
  terminated = false
  close(code?: number, reason?: string): void {
    this.closes.push([code, reason])
  }
  terminate(): void {
    this.terminated = true
  }
}

interface Setup {
  controller: ShutdownController
  gate: FetchGate
  server: FakeNativeServer
  clock: FakeClock
  /** Sends a real web Request through the gate to `app`; `sent` as a runtime would pass it (Deno's `info.completed`). */
  fetch(path: string, init?: RequestInit & { remoteAddress?: string; sent?: PromiseLike<unknown> }): Promise<Response>
}

function setup(options: ShutdownOptions = {}, app: (request: LastcallRequest) => FetchResult | Promise<FetchResult> = () => new Response('app'), server = new FakeNativeServer(), gateOptions: FetchGateOptions = {}): Setup {
  const clock = new FakeClock()
  const controller = createShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 0, idleLingerMs: 250, clock, ...options })
  cleanup.push(() => controller.dispose())
  const gate = new FetchGate(controller, gateOptions)
  controller.attach(server)
  return {
    controller,
    gate,
    server,
    clock,
    async fetch(path, init = {}) {
      const response = await gate.handle(new Request(`http://127.0.0.1:8080${path}`, init), app, init.remoteAddress ?? '10.0.0.1', init.sent)
      if (response === undefined) throw new Error('no response')
      return response
    },
  }
}

/** A promise and its resolve function. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** A body that sends one byte and never ends. */
function partialBody(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array([1])), pull: () => new Promise(() => {}) })
}

/** `response` (a `partialBody()`, `requestTimeoutMs` 200) gives its byte, then is cut at the deadline, and its request is over. */
async function expectCutAtTimeout(s: Setup, response: Response): Promise<void> {
  const reader = response.body!.getReader()
  expect((await reader.read()).value).toEqual(new Uint8Array([1]))
  const next = reader.read()
  await s.clock.advance(200)
  await expect(next).rejects.toMatchObject({ code: 'LASTCALL_REQUEST_TIMEOUT' })
  expect(s.controller.inFlight).toBe(0)
}

/** With `drainTimeoutMs` 1000 and one request still in flight: stop after the 250 ms linger, force at the deadline, that request counted as forced, exit 1. */
async function expectForcedAtDeadline(s: Setup, report: Promise<ShutdownReport>): Promise<void> {
  await s.clock.advance(250)
  expect(s.server.calls).toEqual(['stop'])
  await s.clock.advance(750)
  expect(s.server.calls).toEqual(['stop', 'force'])
  const final = await report
  expect(final.requests).toMatchObject({ inFlightAtDrain: 1, forced: 1 })
  expect(final.exitCode).toBe(1)
}

describe('FetchGate', () => {
  it('answers the probes before the application, per state: starting, serving, shutting down', async () => {
    const s = setup({ manualReady: true, readinessDelayMs: 60_000, timeoutMs: 90_000 })
    expect(s.controller.state).toBe('starting')
    const starting = await s.fetch('/readyz')
    expect(starting.status).toBe(503)
    expect(await starting.text()).toContain('[-]started failed: starting')
    expect(starting.headers.get('cache-control')).toBe('no-store')
    expect((await s.fetch('/startupz')).status).toBe(503)
    s.controller.ready()
    const serving = await s.fetch('/readyz')
    expect([serving.status, await serving.text()]).toEqual([200, 'ok'])
    const json = await s.fetch('/readyz', { headers: { accept: 'application/health+json' } })
    expect(json.headers.get('content-type')).toBe('application/health+json')
    expect(await json.json()).toEqual({ status: 'pass', checks: { started: [{ status: 'pass' }], shutdown: [{ status: 'pass' }] } })
    const head = await s.fetch('/healthz', { method: 'HEAD' })
    expect([head.status, await head.text()]).toEqual([200, ''])
    const post = await s.fetch('/readyz', { method: 'POST' })
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD'])
    void s.controller.shutdown('test')
    await reached(s.controller, 'leaving')
    const leaving = await s.fetch('/readyz')
    expect(leaving.status).toBe(503)
    expect(await leaving.text()).toContain('[-]shutdown failed: shutting down')
    expect((await s.fetch('/livez')).status).toBe(200)
    // The application is still served during the readiness delay, without Connection: close.
    const app = await s.fetch('/ok')
    expect([app.status, await app.text(), app.headers.get('connection')]).toEqual([200, 'app', null])
  })

  it('runs the checks added with addCheck, on the fetch path too', async () => {
    const s = setup()
    s.controller.ready()
    let healthy = true
    s.controller.addCheck('db', () => healthy, { cacheMs: 0 })
    expect((await s.fetch('/readyz')).status).toBe(200)
    healthy = false
    const failing = await s.fetch('/readyz?verbose')
    expect(failing.status).toBe(503)
    expect(await failing.text()).toContain('[-]db failed: reason withheld')
  })

  it('passes every request to the application when probes are off', async () => {
    const s = setup({ probes: false })
    expect(await (await s.fetch('/readyz')).text()).toBe('app')
  })

  it('rejects with lastcall\'s 503 (Retry-After, Connection: close) under whileDraining "reject", counted, probes still answering', async () => {
    const hold = deferred()
    const s = setup({ whileDraining: 'reject' }, async (request) => {
      if (request.url.endsWith('/hold')) await hold.promise
      return new Response('app')
    })
    s.controller.ready()
    const held = s.fetch('/hold')
    const report = s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    // Requests that arrive before the server is told to stop wait for that instant (they are in flight when it stops).
    const rejecting = s.fetch('/ok')
    const living = s.fetch('/healthz')
    await s.clock.advance(250)
    expect(s.server.calls).toEqual(['stop'])
    const rejected = await rejecting
    expect(rejected.status).toBe(503)
    expect(rejected.headers.get('retry-after')).toBe('1')
    expect(rejected.headers.get('connection')).toBe('close')
    expect(rejected.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await rejected.text()).toBe('Service Unavailable: shutting down\n')
    const live = await living
    expect([live.status, live.headers.get('connection')]).toEqual([200, 'close'])
    hold.resolve()
    expect(await (await held).text()).toBe('app')
    s.server.finish()
    const final = await report
    expect(final.requests).toMatchObject({ inFlightAtDrain: 1, rejected: 1, forced: 0 })
    expect(final.exitCode).toBe(0)
  })

  it('counts requests in the drain and the report, sends Connection: close while draining, and waits for a streaming body to end', async () => {
    const chunks = deferred()
    const s = setup({}, (request) => {
      if (!request.url.endsWith('/stream')) return new Response('app')
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('one;'))
            await chunks.promise
            controller.enqueue(new TextEncoder().encode('two'))
            controller.close()
          },
        }),
      )
    })
    s.controller.ready()
    const streaming = await s.fetch('/stream')
    expect(s.controller.inFlight).toBe(1)
    const report = s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    const arriving = s.fetch('/ok')
    // The linger passes and the server is told to stop; the drain still waits for the body.
    await s.clock.advance(250)
    expect(s.server.calls).toEqual(['stop'])
    const during = await arriving
    expect([await during.text(), during.headers.get('connection')]).toEqual(['app', 'close'])
    s.server.finish()
    await s.clock.advance(0)
    expect(s.controller.state).toBe('draining')
    chunks.resolve()
    expect(await streaming.text()).toBe('one;two')
    const final = await report
    expect(final.requests).toMatchObject({ inFlightAtDrain: 1, arrivedDuringShutdown: 1, completed: 2, forced: 0, aborted: 0 })
    // The response sent during the drain went out with Connection: close: the runtime closed its connection after it.
    expect(final.connections).toMatchObject({ closedAfterResponse: 1, forced: 0, byKind: { http1: 1 } })
    expect(s.controller.inFlight).toBe(0)
    expect(final.exitCode).toBe(0)
  })

  it('counts a body the client stopped reading as aborted', async () => {
    const s = setup({}, () => new Response(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) })))
    s.controller.ready()
    const response = await s.fetch('/stream')
    void s.controller.shutdown('test')
    expect(s.controller.inFlight).toBe(1)
    await response.body!.cancel()
    expect(s.controller.inFlight).toBe(0)
    await s.clock.advance(250)
    s.server.finish()
    expect((await s.controller.shutdown()).requests).toMatchObject({ aborted: 1, completed: 0 })
  })

  it('holds a request that arrives during the linger until the server was told to stop, then serves it with Connection: close', async () => {
    const served: string[] = []
    const s = setup({}, (request) => {
      served.push(new URL(request.url).pathname)
      return new Response('app')
    })
    s.controller.ready()
    void s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    const pending = s.fetch('/ok')
    await s.clock.advance(249)
    expect([served, s.server.calls]).toEqual([[], []])
    await s.clock.advance(1)
    expect(s.server.calls).toEqual(['stop'])
    const response = await pending
    expect([served, response.headers.get('connection')]).toEqual([['/ok'], 'close'])
  })

  it('waits for the promise the server\'s stop() returned before the drain ends', async () => {
    const s = setup()
    s.controller.ready()
    const report = s.controller.shutdown('test')
    await s.clock.advance(250)
    expect(s.server.calls).toEqual(['stop'])
    await s.clock.advance(1000)
    expect(s.controller.state).toBe('draining')
    s.server.finish()
    expect((await report).exitCode).toBe(0)
  })

  it('stops a server whose stop() leaves idle connections alone at once, without the linger', async () => {
    const s = setup({}, undefined, new FakeNativeServer(false))
    s.controller.ready()
    void s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    expect(s.server.calls).toEqual(['stop'])
  })

  it('gives the application request.lastcall.signal, aborted when the drain starts', async () => {
    const seen = deferred<AbortSignal>()
    const s = setup({}, (request) => {
      seen.resolve(request.lastcall.signal)
      return new Promise<Response>((resolve) => request.lastcall.signal.addEventListener('abort', () => resolve(new Response((request.lastcall.signal.reason as { code: string }).code))))
    })
    s.controller.ready()
    const pending = s.fetch('/signal')
    const signal = await seen.promise
    expect(signal.aborted).toBe(false)
    void s.controller.shutdown('test')
    expect(await (await pending).text()).toBe('LASTCALL_DRAINING')
  })

  it('answers 503 when a handler passes requestTimeoutMs, aborts its signal, and counts it', async () => {
    const aborted = deferred<string>()
    const s = setup({ requestTimeoutMs: 200, readinessDelayMs: 1000 }, (request) => {
      request.lastcall.signal.addEventListener('abort', () => aborted.resolve((request.lastcall.signal.reason as { code: string }).code))
      return new Promise<Response>(() => {})
    })
    s.controller.ready()
    const report = s.controller.shutdown('test')
    const pending = s.fetch('/hang')
    await s.clock.advance(200)
    const response = await pending
    expect([response.status, response.headers.get('retry-after'), await response.text()]).toEqual([503, '1', 'Service Unavailable: request deadline passed\n'])
    expect(await aborted.promise).toBe('LASTCALL_REQUEST_TIMEOUT')
    await s.clock.advance(800 + 250)
    s.server.finish()
    expect((await report).requests).toMatchObject({ timedOut: 1, completed: 1, forced: 0 })
  })

  it('cuts a body still streaming at requestTimeoutMs', async () => {
    const s = setup({ requestTimeoutMs: 200 }, () => new Response(partialBody()))
    s.controller.ready()
    await expectCutAtTimeout(s, await s.fetch('/partial'))
  })

  it('leaves the body alone when the runtime says when the response is over (sent), and keeps the request in flight until then', async () => {
    const bodies: Response[] = []
    const s = setup({}, () => {
      bodies.push(new Response('app'))
      return bodies.at(-1)
    })
    s.controller.ready()
    const sent = deferred()
    const response = await s.fetch('/ok', { sent: sent.promise })
    // The application's own Response, its body not even read (on Deno that alone costs a stream).
    expect(response).toBe(bodies[0])
    expect(response.bodyUsed).toBe(false)
    expect(s.controller.inFlight).toBe(1)
    const report = s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    // Held until the server is told to stop (the linger), then served with Connection: close.
    const arriving = s.fetch('/ok', { sent: Promise.resolve() })
    await s.clock.advance(250)
    const during = await arriving
    expect(during).toBe(bodies[1])
    expect(during.headers.get('connection')).toBe('close')
    s.server.finish()
    await s.clock.advance(0)
    expect(s.controller.state).toBe('draining')
    sent.resolve()
    const final = await report
    expect(final.requests).toMatchObject({ inFlightAtDrain: 1, arrivedDuringShutdown: 1, completed: 2, forced: 0 })
    expect(final.connections).toMatchObject({ closedAfterResponse: 1, byKind: { http1: 1 } })
    expect(final.exitCode).toBe(0)
  })

  it('with serverFollowsResponses, ends a request when its handler answers and leaves the body to the server, whose count the drain reads', async () => {
    const server = new FakeNativeServer()
    let sending = 0
    server.pending = () => sending
    const stream = new Response(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }))
    const s = setup({ drainTimeoutMs: 1000 }, () => stream, server, { serverFollowsResponses: true })
    s.controller.ready()
    const response = await s.fetch('/stream')
    expect(response).toBe(stream)
    expect(response.bodyUsed).toBe(false)
    // Over for lastcall; still being sent for the server.
    sending = 1
    expect(s.controller.inFlight).toBe(1)
    // Nothing in flight for lastcall, but the drain waits for stop()'s promise, which the server settles after its last response.
    await expectForcedAtDeadline(s, s.controller.shutdown('test'))
  })

  it('with serverFollowsResponses, ends the drain once the server\'s stop() settles after its last response', async () => {
    const server = new FakeNativeServer()
    let sending = 1
    server.pending = () => sending
    const s = setup({}, () => new Response('app'), server, { serverFollowsResponses: true })
    s.controller.ready()
    await s.fetch('/ok')
    const report = s.controller.shutdown('test')
    await s.clock.advance(250)
    sending = 0
    s.server.finish()
    const final = await report
    expect(final.requests).toMatchObject({ inFlightAtDrain: 1, forced: 0 })
    expect(final.exitCode).toBe(0)
  })

  it('still follows the body to cut it at requestTimeoutMs, whatever the runtime says', async () => {
    const app = new Response(partialBody())
    const s = setup({ requestTimeoutMs: 200 }, () => app, new FakeNativeServer(), { serverFollowsResponses: true })
    s.controller.ready()
    const response = await s.fetch('/partial', { sent: new Promise(() => {}) })
    expect(response).not.toBe(app)
    await expectCutAtTimeout(s, response)
  })

  it('forces the server at the drain deadline, counts the request left as forced, exits 1', async () => {
    const s = setup({ drainTimeoutMs: 1000 }, () => new Promise<Response>(() => {}))
    s.controller.ready()
    void s.fetch('/hang')
    await expectForcedAtDeadline(s, s.controller.shutdown('test'))
  })

  it('closes WebSockets with 1001 at the drain, waits for them, and terminates one that does not answer', async () => {
    const s = setup({ webSocketCloseTimeoutMs: 500 })
    s.controller.ready()
    const polite = new FakeWebSocket()
    const silent = new FakeWebSocket()
    s.gate.webSocketOpened(polite)
    s.gate.webSocketOpened(silent)
    expect(s.controller.openConnections).toBe(2)
    const report = s.controller.shutdown('test')
    await reached(s.controller, 'draining')
    expect(polite.closes).toEqual([[1001, 'server shutting down']])
    expect(silent.closes).toEqual([[1001, 'server shutting down']])
    s.gate.webSocketClosed(polite)
    await s.clock.advance(250)
    s.server.finish()
    await s.clock.advance(0)
    expect(s.controller.state).toBe('draining')
    await s.clock.advance(250)
    expect(silent.terminated).toBe(true)
    const final = await report
    expect(final.connections).toMatchObject({ openAtDrain: 2, closedAfterResponse: 1, forced: 1, byKind: { upgraded: 2 } })
  })

  it('feeds the automatic readiness delay: a readiness prober seen answering "not ready"', async () => {
    const s = setup({ readinessDelayMs: 'auto', timeoutMs: 90_000 })
    s.controller.ready()
    const decisions: DelayDecision[] = []
    s.controller.on('delay', (d) => decisions.push(d))
    await s.fetch('/readyz', { headers: { 'user-agent': 'kube-probe/1.31' }, remoteAddress: '10.0.0.9' })
    void s.controller.shutdown('test')
    await reached(s.controller, 'leaving')
    const answered = s.fetch('/readyz', { headers: { 'user-agent': 'kube-probe/1.31' }, remoteAddress: '10.0.0.9' })
    await s.clock.advance(250)
    await answered
    expect(decisions.find((d) => d.type === 'probe-answered')).toMatchObject({ type: 'probe-answered' })
  })

  it('takes the controller from an adapter function made by withController', async () => {
    const { withController } = await import('../src/adapter.js')
    const controller = createShutdown({ logger: false, signals: [], exit: false })
    cleanup.push(() => controller.dispose())
    const fn = withController(() => {}, controller)
    const gate = new FetchGate(fn)
    expect((await gate.handle(new Request('http://x/livez'), () => new Response('app')))!.status).toBe(200)
  })
})

describe('controller.attach(native server)', () => {
  it('marks the service ready once a native server is attached', async () => {
    const controller = createShutdown({ logger: false, signals: [], exit: false })
    cleanup.push(() => controller.dispose())
    controller.attach(new FakeNativeServer())
    await reached(controller, 'serving')
    expect(controller.isReady).toBe(true)
  })

  it('refuses an object that is neither a node server nor a native server, naming what it takes', () => {
    const controller = createShutdown({ logger: false, signals: [], exit: false })
    cleanup.push(() => controller.dispose())
    expect(() => controller.attach({ stop() {} } as unknown as NativeServer)).toThrow(/attach\(server\)/)
  })
})
