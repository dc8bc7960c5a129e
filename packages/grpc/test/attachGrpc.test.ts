import { once } from 'node:events'
import http2 from 'node:http2'
import { afterEach, describe, expect, it } from 'vitest'
import * as grpc from '@grpc/grpc-js'
import { service as officialHealth } from 'grpc-health-check'
import { createShutdown, LastcallOptionError, type ShutdownController } from '@lastcall/core'
import { attachGrpc, type GrpcDrain } from '../src/index.js'
import { TestClient, TestService, bind, readAll, unary } from './service.js'
import { killFixtures, startFixture } from './child.js'

// A client built from the official health.proto (grpc-health-check ships it), not from this package's encoder.
const HealthClient = grpc.makeClientConstructor(officialHealth, 'Health') as unknown as new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & {
  check(request: { service: string }, callback: (error: grpc.ServiceError | null, value?: { status: string }) => void): void
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>
}

const open: { close(): void }[] = []
afterEach(() => {
  for (const c of open.splice(0)) c.close()
  killFixtures()
})

interface Setup {
  shutdown: ShutdownController
  server: grpc.Server
  drain: GrpcDrain
  address: string
  /** Every call the server's handlers saw start, by id. */
  started: Set<string>
  startedEvents: NodeJS.EventEmitter
}

type Impl = (setup: Omit<Setup, 'address'>) => grpc.UntypedServiceImplementation

async function setup(options: { readinessDelayMs?: number; drainTimeoutMs?: number }, impl: Impl): Promise<Setup> {
  const shutdown = createShutdown({ signals: [], exit: false, logger: false, platform: false, onCrash: false, readinessDelayMs: 0, ...options })
  const server = new grpc.Server()
  open.push({ close: () => server.forceShutdown() })
  const drain = attachGrpc(shutdown, server)
  const { EventEmitter } = await import('node:events')
  const partial = { shutdown, server, drain, started: new Set<string>(), startedEvents: new EventEmitter() }
  drain.addService(TestService, impl(partial))
  const port = await bind(server)
  shutdown.ready()
  return { ...partial, address: `127.0.0.1:${port}` }
}

function client<T extends new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client>(Ctor: T, address: string): InstanceType<T> {
  const c = new Ctor(address, grpc.credentials.createInsecure()) as InstanceType<T>
  open.push(c)
  return c
}

function seen(s: Setup, id: string): Promise<void> {
  if (s.started.has(id)) return Promise.resolve()
  return new Promise((resolve) => s.startedEvents.on('start', (started: string) => started === id && resolve()))
}

function mark(s: Omit<Setup, 'address'>, id: string): void {
  s.started.add(id)
  s.startedEvents.emit('start', id)
}

describe('attachGrpc', () => {
  it('lets a unary call and a server stream in flight at the drain finish, then refuses new calls with UNAVAILABLE', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const s = await setup({ drainTimeoutMs: 5000 }, (s) => ({
      Slow(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        mark(s, call.request.id)
        released.then(() => callback(null, { id: call.request.id }))
      },
      Ticks(call: grpc.ServerWritableStream<any, any>) {
        mark(s, 'ticks')
        call.write({ tick: 1 })
        // A long-lived stream ends itself on the drain signal.
        s.drain.signal.addEventListener('abort', () => {
          call.write({ bye: true })
          call.end()
        }, { once: true })
      },
    }))
    const c = client(TestClient, s.address)
    const slow = unary(c, { id: 'a' })
    const ticks = readAll(c.Ticks({}))
    await Promise.all([seen(s, 'a'), seen(s, 'ticks')])

    const done = s.shutdown.shutdown('test')
    await s.shutdown.reached('draining')
    const stream = await ticks
    expect(stream.error).toBeUndefined()
    expect(stream.status?.code).toBe(grpc.status.OK)
    expect(stream.messages).toEqual([{ tick: 1 }, { bye: true }])

    // The server stopped accepting: a new call, on the same client (which got the GOAWAY) or a new one, is refused.
    const again = await unary(c, { id: 'late' })
    const fresh = await unary(client(TestClient, s.address), { id: 'late2' })
    expect(again.error?.code).toBe(grpc.status.UNAVAILABLE)
    expect(fresh.error?.code).toBe(grpc.status.UNAVAILABLE)
    expect(s.started.has('late')).toBe(false)

    expect(s.drain.inFlight).toBe(1)
    release()
    expect(await slow).toEqual({ value: { id: 'a' } })
    const report = await done
    expect(s.drain.counts).toEqual({ inFlightAtDrain: 2, completed: 2, cancelled: 0, forced: 0 })
    expect(report.hooks.find((h) => h.name === 'grpc')).toMatchObject({
      phase: 'intake',
      outcome: 'ok',
      detail: '2 calls in flight at the drain: 2 completed, 0 cancelled by the client, 0 forced',
    })
    expect(report.exitCode).toBe(0)
  })

  it('answers NOT_SERVING from the health service during the readiness delay, and Watch streams see the change', async () => {
    const s = await setup({ readinessDelayMs: 2000 }, () => ({}))
    const health = client(HealthClient, s.address)
    const check = (service: string) =>
      new Promise<{ status?: string; code?: number }>((resolve) => health.check({ service }, (error, value) => resolve(error ? { code: error.code } : { status: value!.status })))

    expect(await check('')).toEqual({ status: 'SERVING' })
    expect(await check('other')).toEqual({ code: grpc.status.NOT_FOUND })
    const watch = health.watch({ service: '' })
    const statuses: string[] = []
    const first = once(watch, 'data')
    watch.on('data', (m: { status: string }) => statuses.push(m.status))
    await first
    const changed = once(watch, 'data')
    const ended = readAll(watch)

    const done = s.shutdown.shutdown('test')
    await changed
    expect(await check('')).toEqual({ status: 'NOT_SERVING' })
    // Still inside the delay: the answer came from `leaving`, not from a server already draining.
    expect(s.shutdown.state).toBe('leaving')
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING'])

    // At the drain the Watch stream ends, so it does not hold the server open.
    const end = await ended
    expect(end.status?.code).toBe(grpc.status.OK)
    expect(s.shutdown.state).not.toBe('leaving')
    expect((await done).exitCode).toBe(0)
  })

  it('forces a stream whose client never reads at the deadline, counts it and fails the hook', async () => {
    const chunk = 'x'.repeat(256 * 1024)
    const s = await setup({ drainTimeoutMs: 1000 }, (s) => ({
      Ticks(call: grpc.ServerWritableStream<any, any>) {
        mark(s, 'flood')
        // Writes until the client's flow control pushes back (bounded: at most 256 MiB).
        let writes = 0
        const fill = (): void => {
          while (writes < 1024 && call.write({ chunk })) writes++
        }
        fill()
        s.drain.signal.addEventListener('abort', () => call.end(), { once: true })
      },
    }))
    // grpc-js's own client keeps reading while paused; a raw HTTP/2 stream that is paused stops granting flow-control window.
    const session = http2.connect(`http://${s.address}`)
    open.push({ close: () => session.destroy() })
    session.on('error', () => {}) // the forced GOAWAY(CANCEL) is expected
    const body = Buffer.from(JSON.stringify({}))
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1)
    body.copy(frame, 5)
    const stream = session.request({ ':method': 'POST', ':path': '/lastcall.test.Test/Ticks', 'content-type': 'application/grpc', te: 'trailers' })
    stream.end(frame)
    stream.pause()
    const cut = new Promise<number | undefined>((resolve) => stream.on('close', () => resolve(stream.rstCode)))
    stream.on('error', () => {})
    await seen(s, 'flood')

    const started = performance.now()
    const report = await s.shutdown.shutdown('test')
    const tookMs = performance.now() - started
    expect(s.drain.counts).toMatchObject({ inFlightAtDrain: 1, forced: 1, completed: 0 })
    const hook = report.hooks.find((h) => h.name === 'grpc')!
    expect(hook.outcome).toBe('error')
    expect(hook.error).toContain('1 forced')
    expect(report.exitCode).toBe(1)
    // Forced shortly before the 1000 ms deadline, not at once and not much later.
    expect(tookMs).toBeGreaterThan(800)
    expect(tookMs).toBeLessThan(3000)
    // forceShutdown() destroys the session with CANCEL.
    expect(await cut).toBe(http2.constants.NGHTTP2_CANCEL)
  })

  it('throws LastcallOptionError naming the option for invalid arguments', () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, platform: false, onCrash: false })
    const server = new grpc.Server()
    expect(() => attachGrpc({} as never, server)).toThrow(LastcallOptionError)
    expect(() => attachGrpc(shutdown, {} as never)).toThrow(/attachGrpc\(server\)/)
    expect(() => attachGrpc(shutdown, server, { healthServices: [] })).toThrow(/healthServices/)
    expect(() => attachGrpc(shutdown, server, { drainTimeoutMs: -1 })).toThrow(/drainTimeoutMs.*-1/)
    expect(() => attachGrpc(shutdown, server, { nope: 1 } as never)).toThrow(/options\)\.nope/)
    expect(() => attachGrpc(shutdown, server, { phase: 'no-such-phase' })).toThrow(/phase/)
  })

  describe('in a child process, beside an HTTP server, on SIGTERM', () => {
    it('exits 0 once the call in flight completes; readiness and health fail during the delay', async () => {
      const app = startFixture('grpc-app', {})
      const { grpcPort, httpPort } = await app.waitFor((e) => e.ready, 'ready')
      const c = client(TestClient, `127.0.0.1:${grpcPort}`)
      const call = unary(c, { id: 'x' })
      await app.waitFor((e) => e.call === 'x', 'call x started')
      const health = client(HealthClient, `127.0.0.1:${grpcPort}`)
      const watch = health.watch({ service: '' })
      const statuses: string[] = []
      watch.on('data', (m: { status: string }) => statuses.push(m.status))
      await once(watch, 'data')

      const sigtermAt = performance.now()
      app.child.kill('SIGTERM')
      await app.waitFor((e) => e.state === 'leaving', 'leaving')
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(503)
      expect(await call).toEqual({ value: { id: 'x', at: 'draining' } })
      const { code, report, at } = await app.exited
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING'])
      expect(code).toBe(0)
      expect(report?.hooks.find((h) => h.name === 'grpc')).toMatchObject({ outcome: 'ok' })
      expect(at - sigtermAt).toBeLessThan(5000)
    })

    it('exits 1 when a call has to be forced', async () => {
      const app = startFixture('grpc-app', { HANG: '1', DRAIN_MS: '500' })
      const { grpcPort } = await app.waitFor((e) => e.ready, 'ready')
      const call = unary(client(TestClient, `127.0.0.1:${grpcPort}`), { id: 'stuck' })
      await app.waitFor((e) => e.call === 'stuck', 'call started')
      app.child.kill('SIGTERM')
      const { code, report } = await app.exited
      expect(code).toBe(1)
      expect(report?.hooks.find((h) => h.name === 'grpc')?.error).toContain('1 call in flight at the drain: 0 completed, 0 cancelled by the client, 1 forced')
      // forceShutdown() cancels the HTTP/2 stream: the client sees CANCELLED, not a retryable UNAVAILABLE.
      expect((await call).error?.code).toBe(grpc.status.CANCELLED)
    })
  })
})
