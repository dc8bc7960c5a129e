import { once } from 'node:events'
import { connect as h2connect, createSecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { get, h2get as h2getOn, keepAliveAgent, tlsOptions } from '@lastcall/test-kit'
import { Hono } from 'hono'
import { describe, expect, it, vi } from 'vitest'
import { LastcallOptionError, ShutdownController, gracefulShutdown } from '../src/index.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('gracefulShutdown', () => {
  it('is the middleware and the controller at once', async () => {
    const shutdown = gracefulShutdown(quiet)
    expect(typeof shutdown).toBe('function')
    expect(shutdown).toBeInstanceOf(ShutdownController)
    expect(shutdown.state).toBe('starting')
    const server = shutdown.attach(createAdaptorServer({ fetch: new Hono().use(shutdown).fetch }))
    server.listen(0, '127.0.0.1')
    await once(shutdown, 'state')
    expect(shutdown.isReady).toBe(true)
    expect((await shutdown.shutdown('test')).exitCode).toBe(0)
  })

  it('rejects bad options at creation with a LastcallOptionError', () => {
    expect(() => gracefulShutdown({ drainTimeoutMs: -1 })).toThrow(LastcallOptionError)
    expect(() => gracefulShutdown({ whileDraining: 'maybe' as 'serve' })).toThrow(/whileDraining/)
  })

  it('lets app.request() run without a Node server: the request follows the drain signal, no probe is answered', async () => {
    const shutdown = gracefulShutdown(quiet)
    const app = new Hono().use(shutdown)
    app.get('/signal', (c) => c.text(String(c.var.lastcall.signal === shutdown.signal && c.get('lastcall') === c.var.lastcall)))
    app.get('/readyz', (c) => c.text('app', 418))
    expect(await (await app.request('/signal')).text()).toBe('true')
    // Probes need the Node response: without one they are the app's.
    expect((await app.request('/readyz')).status).toBe(418)
    shutdown.dispose()
  })

  it('writes no late response over the 503 of requestTimeoutMs (node-server would log ERR_HTTP_HEADERS_SENT)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const shutdown = gracefulShutdown({ ...quiet, requestTimeoutMs: 100 })
    const app = new Hono().use(shutdown)
    app.get('/late', async (c) => {
      await new Promise((resolve) => c.var.lastcall.signal.addEventListener('abort', resolve, { once: true }))
      return c.text('too late')
    })
    app.get('/ok', (c) => c.text('ok'))
    // Resolves a turn after the app handed node-server its (late) response, which node-server writes at once.
    let handed!: () => void
    const late = new Promise<void>((resolve) => (handed = resolve))
    const fetch = async (request: Request, env: unknown): Promise<Response> => {
      const response = await app.fetch(request, env)
      setImmediate(handed)
      return response
    }
    const server = shutdown.attach(createAdaptorServer({ fetch }))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    const agent = keepAliveAgent(false, 1)
    try {
      expect(await get(port, '/late', { agent })).toMatchObject({ status: 503, headers: { 'retry-after': '1' } })
      await late
      expect(await get(port, '/ok', { agent })).toMatchObject({ status: 200, body: 'ok' })
      expect(errors).not.toHaveBeenCalled()
    } finally {
      errors.mockRestore()
      agent.destroy()
      await shutdown.shutdown('test')
    }
  })

  it('serves HTTP/2 over TLS (createSecureServer): probes, c.var.lastcall, GOAWAY at the drain, the stream in flight completes', async () => {
    const shutdown = gracefulShutdown(quiet)
    const app = new Hono().use(shutdown)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let holding!: () => void
    const arrived = new Promise<void>((resolve) => (holding = resolve))
    app.get('/hold', async (c) => {
      holding()
      await held
      return c.text(String(c.var.lastcall.signal.aborted))
    })
    const server = shutdown.attach(createAdaptorServer({ fetch: app.fetch, createServer: createSecureServer, serverOptions: tlsOptions() }))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const session = h2connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, { rejectUnauthorized: false })
    const h2get = (path: string) => h2getOn(session, path)
    try {
      await new Promise<void>((resolve) => (shutdown.isReady ? resolve() : shutdown.once('state', () => resolve())))
      expect(await h2get('/readyz')).toEqual({ status: 200, body: 'ok' })
      const pending = h2get('/hold')
      await arrived
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()))
      const report = shutdown.shutdown('test')
      await goaway
      release()
      // The signal aborted at the drain; the stream in flight still completes.
      expect(await pending).toEqual({ status: 200, body: 'true' })
      expect((await report).exitCode).toBe(0)
    } finally {
      session.destroy()
    }
  })
})
