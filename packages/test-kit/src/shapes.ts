import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http'
import type { ShutdownController, ShutdownOptions, ShutdownReport } from '@lastcall/core'
import { describe, expect, it } from 'vitest'
import type { AdapterApp, AdapterUnderTest, AppVariant, TestKit } from './app.js'
import { hammerAgent, hammerFetch, parseResponses, RawClient, rawGet, send, type Outcome } from '@lastcall/test-utils'

interface Started {
  app: AdapterApp
  kit: TestKit
  port: number
  controller: ShutdownController
}

/** What the conformance suite lends the traffic-shape matrix. */
export interface ShapeHelpers {
  start(options?: ShutdownOptions, variant?: AppVariant): Promise<Started>
  agent(maxSockets?: number): Agent
  warm(s: Started, a: Agent, n: number): Promise<void>
  holdOne(s: Started): Promise<{ done: Promise<Outcome> }>
  reached(controller: ShutdownController, state: 'draining' | 'closing' | 'closed'): Promise<void>
  cleanup(fn: () => unknown): void
}

const DOWNLOAD_BYTES = 4 * 1024 * 1024
const UPLOAD_HALF = 'x'.repeat(64 * 1024)

/** Nothing the server ended is blamed on the client, and nothing was forced. */
function expectClean(report: ShutdownReport): void {
  expect(report.requests.aborted, 'requests aborted').toBe(0)
  expect(report.requests.forced, 'requests forced').toBe(0)
  expect(report.connections.closedByClient, 'connections closed by client').toBe(0)
  expect(report.connections.forced, 'connections forced').toBe(0)
  expect(report.exitCode).toBe(0)
}

/** Resolves after the server has emitted `request` `count` times from now on (every framework's handler hangs off it). */
function requestsSeen(s: Started, count: number): Promise<void> {
  let seen = 0
  return new Promise((resolve) => {
    const listener = (): void => {
      if (++seen < count) return
      s.app.server.off('request', listener)
      resolve()
    }
    s.app.server.on('request', listener)
  })
}

/** A POST /upload whose body is written by the caller: `Content-Length` set, or chunked when `length` is undefined. */
function upload(port: number, { length, agent, headers = {} }: { length?: number | undefined; agent?: Agent | false; headers?: Record<string, string> }) {
  let gotContinue = false
  const req = httpRequest({
    host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: agent ?? false,
    headers: { 'Content-Type': 'text/plain', ...(length === undefined ? {} : { 'Content-Length': String(length) }), ...headers },
  })
  req.on('continue', () => (gotContinue = true))
  const reply = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }))
    })
    req.on('error', reject)
  })
  return { req, reply, continued: () => gotContinue }
}

/** A keep-alive `http.Agent` with one idle socket open on the app. */
async function warmAgent(h: ShapeHelpers, s: Started): Promise<Agent> {
  const a = h.agent(1)
  await h.warm(s, a, 1)
  return a
}

/** A raw socket that has had one response already (it is idle and keep-alive). */
async function warmRaw(h: ShapeHelpers, s: Started, version: '1.0' | '1.1' = '1.1'): Promise<RawClient> {
  const raw = await RawClient.connect(s.port)
  h.cleanup(() => raw.socket.destroy())
  raw.write(rawGet('/ok', { version, headers: version === '1.0' ? 'Connection: keep-alive\r\n' : '' }))
  await raw.responses(1)
  return raw
}

/**
 * Starts the app (idle linger 10 s), opens a connection with `open`, keeps
 * one other request in flight so the drain lasts while `during` runs on that
 * connection, then lets the drain finish. Resolves with the report.
 */
async function duringDrain<C>(h: ShapeHelpers, options: ShutdownOptions, open: (s: Started) => Promise<C>, during: (s: Started, c: C) => Promise<void>): Promise<ShutdownReport> {
  const s = await h.start({ idleLingerMs: 10_000, ...options })
  const connection = await open(s)
  const held = await h.holdOne(s)
  const report = s.controller.shutdown('test')
  await h.reached(s.controller, 'draining')
  await during(s, connection)
  s.kit.openGate()
  await held.done
  return report
}

/**
 * The traffic-shape matrix: every shape of HTTP/1.x traffic that can be on a
 * connection when the drain starts, with `http.Agent`, `fetch` (undici) and a
 * raw socket. Each must be answered, or refused the way HTTP allows (a closed
 * listener, `Connection: close` before a pipelined request is read), never
 * reset after its handler ran; and the report must not blame the client.
 */
export function describeTrafficShapes(adapter: AdapterUnderTest, h: ShapeHelpers): void {
  describe('traffic shapes', () => {
    describe('a streaming response whose head went out before the drain', () => {
      it('http.Agent: the request queued behind it is served on the same socket with Connection: close', async () => {
        const s = await h.start()
        const a = h.agent(1)
        let head!: () => void
        const headArrived = new Promise<void>((resolve) => (head = resolve))
        const streaming = send(s.port, '/stream', { agent: a, onResponse: () => head() })
        await headArrived
        // Queued on the agent's only socket: written the instant the stream ends.
        const next = send(s.port, '/ok', { agent: a })
        const report = s.controller.shutdown('test')
        await h.reached(s.controller, 'draining')
        s.kit.openGate()
        expect(await streaming).toMatchObject({ ok: true, reply: { status: 200, body: 'part one;part two' } })
        expect(await next).toMatchObject({ ok: true, reply: { status: 200, body: 'ok', headers: { connection: 'close' } } })
        const final = await report
        expectClean(final)
        expect(final.connections.closedAfterResponse).toBe(1)
      })

      it('fetch: the next fetch, sent the moment the body ends, is served with Connection: close', async () => {
        const s = await h.start()
        const res = await fetch(`http://127.0.0.1:${s.port}/stream`)
        const report = s.controller.shutdown('test')
        await h.reached(s.controller, 'draining')
        s.kit.openGate()
        expect(await res.text()).toBe('part one;part two')
        // undici's pool frees the connection on the turn after the body ends; sent before, the
        // fetch would go to a new connection (refused: the listener is closed).
        await new Promise((resolve) => setImmediate(resolve))
        // The listener is closed: only the socket the stream came on can answer this.
        const next = await fetch(`http://127.0.0.1:${s.port}/ok`)
        expect(next.status).toBe(200)
        expect(next.headers.get('connection')).toBe('close')
        expect(await next.text()).toBe('ok')
        expectClean(await report)
      })

      it('raw socket: a request written the moment the last chunk arrives is served with Connection: close', async () => {
        const s = await h.start()
        const raw = await RawClient.connect(s.port)
        h.cleanup(() => raw.socket.destroy())
        raw.write(rawGet('/stream'))
        await raw.until((text) => text.includes('part one;'))
        const report = s.controller.shutdown('test')
        await h.reached(s.controller, 'draining')
        s.kit.openGate()
        await raw.responses(1)
        raw.write(rawGet('/ok'))
        await raw.closed
        const [first, second] = parseResponses(raw.text)
        expect(first).toMatchObject({ status: 200, body: 'part one;part two' })
        expect(first?.headers.connection).not.toBe('close')
        expect(second).toMatchObject({ status: 200, body: 'ok', headers: { connection: 'close' } })
        expect(raw.error).toBeUndefined()
        expectClean(await report)
      })

      it('keep-alive clients hammering an early-flushing route through the drain see no reset on a reused socket', async () => {
        const s = await h.start()
        const agents = [h.agent(2), h.agent(2)]
        let total = 0
        let report: Promise<ShutdownReport> | undefined
        const onCount = (): void => {
          if (++total === 40) report = s.controller.shutdown('test')
        }
        const results = await Promise.all([
          ...agents.map((a) => hammerAgent(s.port, '/flush', a, { max: 1000, onCount })),
          hammerFetch(s.port, '/flush', { max: 1000, onCount }),
        ])
        expect(report).toBeDefined()
        for (const r of results) {
          expect(r.resetsOnReused, `${r.client} resets`).toEqual([])
          expect(Object.keys(r.statuses), `${r.client} statuses`).toEqual(['200'])
          expect(r.freshErrors.every((code) => code === 'ECONNREFUSED'), `${r.client}: ${r.freshErrors.join(',')}`).toBe(true)
        }
        expectClean(await report!)
      })
    })

    it('SSE ended by the drain: the request queued behind it is served with Connection: close', async () => {
      const s = await h.start()
      const a = h.agent(1)
      let head!: () => void
      const headArrived = new Promise<void>((resolve) => (head = resolve))
      const stream = send(s.port, '/sse', { agent: a, onResponse: () => head() })
      await headArrived
      const next = send(s.port, '/ok', { agent: a })
      const report = s.controller.shutdown('test')
      expect(await stream).toMatchObject({ ok: true, reply: { status: 200 } })
      expect(await next).toMatchObject({ ok: true, reply: { status: 200, headers: { connection: 'close' } } })
      expectClean(await report)
    })

    it('a large download under way completes in full, and its socket serves the next request', async () => {
      const s = await h.start()
      const a = h.agent(1)
      let report: Promise<ShutdownReport> | undefined
      const download = send(s.port, `/download?bytes=${DOWNLOAD_BYTES}`, { agent: a, onResponse: () => (report = s.controller.shutdown('test')) })
      const next = send(s.port, '/ok', { agent: a })
      const done = await download
      expect(done.ok && done.reply.body.length).toBe(DOWNLOAD_BYTES)
      expect(await next).toMatchObject({ ok: true, reply: { status: 200, headers: { connection: 'close' } } })
      expectClean(await report!)
    })

    for (const shape of ['Content-Length', 'chunked'] as const) {
      it(`a slow upload (${shape}) in progress when the drain starts is read to its end and answered`, async () => {
        const s = await h.start()
        const arrived = requestsSeen(s, 1)
        const up = upload(s.port, { length: shape === 'chunked' ? undefined : UPLOAD_HALF.length * 2 })
        up.req.write(UPLOAD_HALF)
        await arrived
        const report = s.controller.shutdown('test')
        await h.reached(s.controller, 'draining')
        up.req.end(UPLOAD_HALF)
        expect(await up.reply).toEqual({ status: 200, connection: 'close', body: `received ${UPLOAD_HALF.length * 2}` })
        expectClean(await report)
      })
    }

    describe('Expect: 100-continue on an open connection during the drain', () => {
      it('under whileDraining "reject": refused with 503 before the body is invited, the handler never run', async () => {
        const final = await duringDrain(h, { whileDraining: 'reject' }, (s) => warmAgent(h, s), async (s, a) => {
          const up = upload(s.port, { length: UPLOAD_HALF.length, agent: a, headers: { Expect: '100-continue' } })
          up.req.flushHeaders()
          expect(await up.reply).toMatchObject({ status: 503, connection: 'close' })
          expect(up.continued()).toBe(false)
          expect(s.kit.notes).not.toContain('upload')
          up.req.destroy()
        })
        expect(final.requests.rejected).toBe(1)
        expectClean(final)
      })

      it('under whileDraining "serve": 100 Continue, then the body, then 200 with Connection: close', async () => {
        const final = await duringDrain(h, {}, (s) => warmAgent(h, s), async (s, a) => {
          const up = upload(s.port, { length: UPLOAD_HALF.length, agent: a, headers: { Expect: '100-continue' } })
          up.req.on('continue', () => up.req.end(UPLOAD_HALF))
          up.req.flushHeaders()
          expect(await up.reply).toEqual({ status: 200, connection: 'close', body: `received ${UPLOAD_HALF.length}` })
          expect(up.continued()).toBe(true)
        })
        expectClean(final)
      })
    })

    describe('pipelined requests', () => {
      it('queued behind a request in flight when the drain starts: all answered, none but the last says Connection: close', async () => {
        const s = await h.start()
        const raw = await RawClient.connect(s.port)
        h.cleanup(() => raw.socket.destroy())
        const parsed = requestsSeen(s, 3)
        raw.write(rawGet('/hold') + rawGet('/ok') + rawGet('/ok'))
        await Promise.all([parsed, s.kit.waitNote('hold')])
        const report = s.controller.shutdown('test')
        await h.reached(s.controller, 'draining')
        s.kit.openGate()
        await raw.closed
        const responses = parseResponses(raw.text)
        expect(responses.map((r) => [r.status, r.body])).toEqual([[200, 'held'], [200, 'ok'], [200, 'ok']])
        // The last says so unless its head was already written when the drain began (a handler
        // that answers at once); then the socket lingers and is closed idle. Either way, by the server.
        expect(responses.slice(0, -1).some((r) => r.headers.connection === 'close')).toBe(false)
        expect(raw.error).toBeUndefined()
        const final = await report
        expect(final.connections.closedAfterResponse + final.connections.closedIdle).toBe(1)
        expectClean(final)
      })

      it('written on an idle socket after the drain started: the first is served with Connection: close, the rest refused unread, no handler run for them', async () => {
        const final = await duringDrain(h, {}, (s) => warmRaw(h, s), async (s, raw) => {
          raw.write(rawGet('/slow?ms=1') + rawGet('/slow?ms=1') + rawGet('/slow?ms=1'))
          await raw.closed
          const responses = parseResponses(raw.text).slice(1)
          expect(responses).toHaveLength(1)
          expect(responses[0]).toMatchObject({ status: 200, body: 'slow', headers: { connection: 'close' } })
          expect(s.kit.notes.filter((n) => n === 'slow')).toHaveLength(1)
        })
        // Refused by the server, which the client learns from the close: never the client's doing.
        expect(final.requests.rejected).toBe(2)
        expectClean(final)
      })
    })

    it('HTTP/1.0 keep-alive: served during the drain with Connection: close, then closed by the server', async () => {
      const final = await duringDrain(h, {}, (s) => warmRaw(h, s, '1.0'), async (_s, raw) => {
        expect(parseResponses(raw.text)[0]?.headers.connection?.toLowerCase()).toBe('keep-alive')
        raw.write(rawGet('/ok', { version: '1.0', headers: 'Connection: keep-alive\r\n' }))
        await raw.closed
        expect(parseResponses(raw.text)[1]).toMatchObject({ status: 200, body: 'ok', headers: { connection: 'close' } })
      })
      expect(final.connections.closedAfterResponse).toBeGreaterThanOrEqual(1)
      expectClean(final)
    })

    it('HEAD on a reused socket during the drain: answered without a body, Connection: close', async () => {
      const final = await duringDrain(h, {}, (s) => warmAgent(h, s), async (s, a) => {
        expect(await send(s.port, '/ok', { agent: a, method: 'HEAD' })).toMatchObject({ ok: true, reply: { status: 200, body: '', reused: true, headers: { connection: 'close' } } })
      })
      expectClean(final)
    })

    it('without keepAliveHint (the default), keeps keep-alive responses as they were during the readiness delay', async () => {
      const s = await h.start({ readinessDelayMs: 60_000, timeoutMs: 90_000 })
      const a = h.agent(1)
      void s.controller.shutdown('test')
      const during = await send(s.port, '/ok', { agent: a })
      expect(during.ok && during.reply.headers['keep-alive']).not.toBe('timeout=1')
      expect(await send(s.port, '/ok', { agent: a })).toMatchObject({ ok: true, reply: { reused: true } })
    })

    it('with keepAliveHint, advertises Keep-Alive: timeout=1 from the moment readiness fails (not on probes), and http.Agent then retires the socket itself', async () => {
      const s = await h.start({ readinessDelayMs: 60_000, timeoutMs: 90_000, keepAliveHint: true })
      const a = h.agent(1)
      const before = await send(s.port, '/ok', { agent: a })
      expect(before.ok && before.reply.headers['keep-alive']).not.toBe('timeout=1')
      void s.controller.shutdown('test')
      const probe = await send(s.port, '/readyz', { agent: a })
      expect(probe.ok && probe.reply.headers['keep-alive']).not.toBe('timeout=1')
      for (const method of ['GET', 'HEAD']) {
        const hinted = await send(s.port, '/ok', { agent: a, method })
        expect(hinted).toMatchObject({ ok: true, reply: { status: 200, headers: { connection: 'keep-alive', 'keep-alive': 'timeout=1' } } })
        // Node's agent keeps no socket whose hinted lifetime minus its 1 s buffer is 0.
        expect(Object.keys(a.freeSockets)).toHaveLength(0)
      }
      const fetched = await fetch(`http://127.0.0.1:${s.port}/ok`)
      expect(fetched.headers.get('keep-alive')).toBe('timeout=1')
      await fetched.text()
    })

    it('requests arriving as the listener closes: each is served or refused before its handler runs, never reset after', async () => {
      const s = await h.start()
      let report: Promise<ShutdownReport> | undefined
      s.app.server.once('connection', () => (report = s.controller.shutdown('test')))
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => send(s.port, '/slow?ms=1', { agent: false })))
      const served = outcomes.filter((o) => o.ok)
      for (const o of outcomes) if (!o.ok) expect(['ECONNREFUSED', 'ECONNRESET']).toContain(o.code)
      expect(served.every((o) => o.ok && o.reply.status === 200)).toBe(true)
      // A handler that ran always got its answer to the client.
      expect(s.kit.notes.filter((n) => n === 'slow')).toHaveLength(served.length)
      expect(served.length).toBeGreaterThan(0)
      expectClean(await report!)
    })
  })
}
