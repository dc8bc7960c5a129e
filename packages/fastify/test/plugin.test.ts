import type { AddressInfo } from 'node:net'
import { get, keepAliveAgent, reached, send, tlsOptions, TestKit } from '@lastcall/test-kit'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import defaultExport, { LastcallOptionError, ShutdownController, gracefulShutdown, type FastifyShutdownOptions } from '../src/index.js'
import { routes } from './harness.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('gracefulShutdown (Fastify plugin)', () => {
  const apps: FastifyInstance[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) {
      app.server.closeAllConnections?.()
      app.shutdown.dispose()
    }
  })

  async function build(
    options: FastifyShutdownOptions = {},
    { https, setup }: { https?: { key: Buffer; cert: Buffer }; setup?: (app: FastifyInstance) => void } = {},
  ): Promise<{ app: FastifyInstance; kit: TestKit; port: number }> {
    const app = (https ? Fastify({ https }) : Fastify()) as unknown as FastifyInstance
    apps.push(app)
    await app.register(gracefulShutdown, { ...quiet, ...options })
    const kit = new TestKit()
    routes(app, kit)
    setup?.(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { app, kit, port: (app.server.address() as AddressInfo).port }
  }

  it('is a fastify-plugin, the same as the default export', () => {
    expect(defaultExport).toBe(gracefulShutdown)
    const meta = gracefulShutdown as unknown as Record<symbol, unknown>
    expect(meta[Symbol.for('skip-override')]).toBe(true)
    expect(meta[Symbol.for('fastify.display-name')]).toBe('@lastcall/fastify')
    expect(meta[Symbol.for('plugin-meta')]).toMatchObject({ fastify: '5.x', name: '@lastcall/fastify' })
  })

  it('decorates app.shutdown with the controller and attaches app.server', async () => {
    const { app, port } = await build()
    expect(app.shutdown).toBeInstanceOf(ShutdownController)
    await reached(app.shutdown, 'serving')
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    expect(app.shutdown.inFlight).toBe(0)
  })

  it('rejects bad options at register with a LastcallOptionError, and ignores register keys such as prefix', async () => {
    const app = Fastify()
    await expect(app.register(gracefulShutdown, { drainTimeoutMs: -5 })).rejects.toThrow(LastcallOptionError)
    const ok = Fastify()
    await ok.register(gracefulShutdown, { ...quiet, prefix: '/x' } as never)
    expect(ok.shutdown.state).toBe('starting')
    ok.shutdown.dispose()
  })

  it('runs the readiness delay, then the drain, then app.close(): onClose hooks run in cleanup, probes stay lastcall\'s', async () => {
    const seen: string[] = []
    const { app, port } = await build(
      { readinessDelayMs: 200 },
      {
        setup: (app) =>
          app.addHook('onClose', (_instance, done) => {
            seen.push(app.shutdown.state)
            done()
          }),
      },
    )
    await reached(app.shutdown, 'serving')
    const agent = keepAliveAgent(false, 1)
    try {
      await get(port, '/ok', { agent })
      const report = app.shutdown.shutdown('test')
      // During the delay: lastcall's readiness answer (not Fastify's closing 503), app routes served.
      const ready = await get(port, '/readyz', { agent })
      expect(ready).toMatchObject({ status: 503, reused: true })
      expect(ready.body).toContain('shutting down')
      expect(await get(port, '/ok', { agent })).toMatchObject({ status: 200, body: 'ok' })
      const final = await report
      expect(seen).toEqual(['closing'])
      expect(final.hooks).toContainEqual(expect.objectContaining({ name: 'fastify.close', outcome: 'ok' }))
      expect(final.readinessDelay.rule).toBe('fixed')
      expect(final.exitCode).toBe(0)
    } finally {
      agent.destroy()
    }
  })

  it('starts at the drain when the user calls app.close() directly, and lets the in-flight request finish', async () => {
    const { app, kit, port } = await build({ readinessDelayMs: 60_000, timeoutMs: 90_000 })
    await reached(app.shutdown, 'serving')
    const held = get(port, '/hold')
    await kit.waitNote('hold')
    const closing = app.close()
    await reached(app.shutdown, 'draining')
    kit.openGate()
    expect(await held).toMatchObject({ status: 200, body: 'held', headers: { connection: 'close' } })
    await closing
    const report = await new Promise((resolve) => (app.shutdown.report ? resolve(app.shutdown.report) : app.shutdown.once('closed', resolve)))
    expect(report).toMatchObject({ trigger: { type: 'manual', reason: 'fastify.close() called' }, readinessDelay: { rule: 'none' }, exitCode: 0 })
  })

  describe("admitAt: 'server'", () => {
    it('answers probes at app.server before Fastify routes them, and leaves app.inject() to the app', async () => {
      const { app, port } = await build({ admitAt: 'server' })
      // Real traffic: lastcall answers, though the app has its own /readyz route (418).
      expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
      // inject() does not come through the server: the app's own route answers.
      expect((await app.inject('/readyz')).statusCode).toBe(418)
    })

    it("sends Fastify's JSON 503 with core's headers, counted, without running the route", async () => {
      const { app, kit, port } = await build({ admitAt: 'server', whileDraining: 'reject', readinessDelayMs: 0, timeoutMs: 30_000 })
      const agent = keepAliveAgent(false, 1)
      expect(await get(port, '/ok', { agent })).toMatchObject({ status: 200 })
      const held = get(port, '/hold')
      await kit.waitNote('hold')
      const report = app.shutdown.shutdown('test')
      await reached(app.shutdown, 'draining')
      const rejected = await get(port, '/slow?ms=1', { agent })
      kit.openGate()
      await held
      expect(rejected.status).toBe(503)
      expect(rejected.headers['content-type']).toMatch(/^application\/json/)
      expect(rejected.headers['retry-after']).toBeDefined()
      expect(rejected.headers.connection).toBe('close')
      expect(JSON.parse(rejected.body)).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'The server is shutting down' })
      expect(kit.notes).not.toContain('slow')
      expect((await report).requests.rejected).toBe(1)
      agent.destroy()
    })

    it('rejects anything else with a LastcallOptionError naming admitAt', async () => {
      const app = Fastify()
      const error = await app.register(gracefulShutdown, { ...quiet, admitAt: 'router' as never }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(LastcallOptionError)
      expect(String((error as Error).message)).toMatch(/admitAt.*'hook', 'server'.*"router"/s)
    })
  })

  it('leaves a never-listening app alone on app.close() (app.inject tests): no shutdown, no exit', async () => {
    const exits: number[] = []
    const app = Fastify()
    await app.register(gracefulShutdown, { ...quiet, exit: (code) => exits.push(code) })
    app.get('/ok', async () => 'ok')
    expect((await app.inject('/healthz')).body).toBe('ok')
    expect((await app.inject('/ok')).body).toBe('ok')
    await app.close()
    expect(app.shutdown.state).toBe('starting')
    expect(exits).toEqual([])
  })

  it('keeps Fastify\'s default keepAliveTimeout (72 s) from holding the drain: the socket closes after its response', async () => {
    const { app, kit, port } = await build({ drainTimeoutMs: 2000 })
    expect(app.server.keepAliveTimeout).toBe(72_000)
    const agent = keepAliveAgent(false, 1)
    try {
      await get(port, '/ok', { agent })
      const pending = get(port, '/hold', { agent })
      await kit.waitNote('hold')
      const report = app.shutdown.shutdown('test')
      await reached(app.shutdown, 'draining')
      kit.openGate()
      expect(await pending).toMatchObject({ status: 200, headers: { connection: 'close' } })
      const final = await report
      expect(final.connections).toMatchObject({ forced: 0, closedAfterResponse: 1 })
      expect(final.durationMs).toBeLessThan(2000)
    } finally {
      agent.destroy()
    }
  })

  it('drains an https app: the request in flight completes with Connection: close, exit code 0', async () => {
    const { app, kit, port } = await build({}, { https: tlsOptions() })
    const agent = keepAliveAgent(true, 1)
    try {
      await get(port, '/ok', { agent, secure: true })
      const pending = get(port, '/hold', { agent, secure: true })
      await kit.waitNote('hold')
      const report = app.shutdown.shutdown('test')
      await reached(app.shutdown, 'draining')
      kit.openGate()
      expect(await pending).toMatchObject({ status: 200, body: 'held', reused: true, headers: { connection: 'close' } })
      expect(await send(port, '/ok', { secure: true, agent: false })).toMatchObject({ ok: false, code: 'ECONNREFUSED' })
      expect((await report).exitCode).toBe(0)
    } finally {
      agent.destroy()
    }
  })

  // Where localhost resolves to one address only (as on this CI machine), this checks there is no false warning;
  // with IPv4 and IPv6 it checks the warning itself.
  it('warns about extra listen addresses only when Fastify binds more than one', async () => {
    const lines: string[] = []
    const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } } })
    apps.push(app as unknown as FastifyInstance)
    await app.register(gracefulShutdown, { signals: [], exit: false })
    await app.listen({ port: 0, host: 'localhost' })
    const expected = app.addresses().length > 1 ? 1 : 0
    expect(lines.filter((l) => l.includes('listen on one host'))).toHaveLength(expected)
  })

  it('with Fastify\'s default return503OnClosing, a direct app.close() answers 503 itself to requests during the drain', async () => {
    const { app, kit, port } = await build({ idleLingerMs: 5000 })
    const agent = keepAliveAgent(false, 1)
    try {
      await get(port, '/ok', { agent })
      const held = get(port, '/hold')
      await kit.waitNote('hold')
      const closing = app.close()
      await reached(app.shutdown, 'draining')
      // Fastify's own closing answer, before any hook runs (documented; lastcall's probes are not reached).
      const during = await get(port, '/healthz', { agent })
      expect(during).toMatchObject({ status: 503, reused: true, headers: { connection: 'close' } })
      expect(JSON.parse(during.body)).toMatchObject({ statusCode: 503, error: 'Service Unavailable' })
      kit.openGate()
      expect((await held).status).toBe(200)
      await closing
    } finally {
      agent.destroy()
    }
  })

  it('leaves nothing for forceCloseConnections: true to cut: a direct close() still delivers the in-flight response', async () => {
    const app = Fastify({ forceCloseConnections: true }) as unknown as FastifyInstance
    apps.push(app)
    await app.register(gracefulShutdown, quiet)
    const kit = new TestKit()
    routes(app, kit)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as AddressInfo).port
    const agent = keepAliveAgent(false, 1)
    try {
      await get(port, '/ok', { agent })
      const held = get(port, '/hold', { agent })
      await kit.waitNote('hold')
      const closing = app.close()
      await reached(app.shutdown, 'draining')
      kit.openGate()
      expect(await held).toMatchObject({ status: 200, body: 'held', headers: { connection: 'close' } })
      await closing
    } finally {
      agent.destroy()
    }
  })
})
