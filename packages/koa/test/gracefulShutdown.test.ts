import { once } from 'node:events'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import { get, keepAliveAgent, reached, tlsOptions } from '@lastcall/test-kit'
import Koa from 'koa'
import Koa2 from 'koa2'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { LastcallOptionError, ShutdownController, gracefulShutdown } from '../src/index.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('gracefulShutdown', () => {
  it('is the middleware and the controller at once', () => {
    const shutdown = gracefulShutdown(quiet)
    expect(typeof shutdown).toBe('function')
    expect(shutdown).toBeInstanceOf(ShutdownController)
    expect(shutdown.state).toBe('starting')
    expect(() => new Koa().use(shutdown)).not.toThrow()
    expect(() => new Koa2().use(shutdown)).not.toThrow()
  })

  it('rejects bad options at creation with a LastcallOptionError', () => {
    expect(() => gracefulShutdown({ timeoutMs: 0 })).toThrow(LastcallOptionError)
  })

  it('serves app.callback() on an https server, probes first, and drains it', async () => {
    const shutdown = gracefulShutdown({ ...quiet, drainTimeoutMs: 3000 })
    const app = new Koa()
    app.use(shutdown)
    app.use((ctx) => void (ctx.body = 'secure'))
    const server = shutdown.attach(createHttpsServer(tlsOptions(), app.callback()))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    const agent = keepAliveAgent(true, 1)
    try {
      await reached(shutdown, 'serving')
      expect(await get(port, '/readyz', { agent, secure: true })).toMatchObject({ status: 200, body: 'ok' })
      expect(await get(port, '/anything', { agent, secure: true })).toMatchObject({ status: 200, body: 'secure' })
      const report = shutdown.shutdown('test')
      await reached(shutdown, 'draining')
      const last = await get(port, '/anything', { agent, secure: true })
      expect(last).toMatchObject({ status: 200, reused: true, headers: { connection: 'close' } })
      expect((await report).exitCode).toBe(0)
    } finally {
      agent.destroy()
      server.closeAllConnections()
      shutdown.dispose()
    }
  })

  it('rejects without emitting Koa\'s error event (a 503 while shutting down is not a server fault)', async () => {
    const shutdown = gracefulShutdown({ ...quiet, whileDraining: 'reject', idleLingerMs: 5000 })
    const app = new Koa()
    const errors: unknown[] = []
    app.on('error', (error) => errors.push(error))
    app.use(shutdown)
    const router = new Router()
    router.get('/ok', (ctx) => void (ctx.body = 'ok'))
    app.use(router.routes())
    const server = shutdown.attach(createServer(app.callback()))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    const agent = keepAliveAgent(false, 1)
    try {
      await get(port, '/ok', { agent })
      // A request in flight keeps the drain going while the next one is rejected.
      let release!: () => void
      router.get('/hold', async (ctx) => {
        await new Promise<void>((resolve) => (release = resolve))
        ctx.body = 'held'
      })
      const held = get(port, '/hold')
      await new Promise<void>((resolve) => server.once('request', () => setImmediate(resolve)))
      const report = shutdown.shutdown('test')
      await reached(shutdown, 'draining')
      const rejected = await get(port, '/ok', { agent })
      expect(rejected).toMatchObject({ status: 503, body: 'Service Unavailable: shutting down\n', headers: { 'retry-after': '1', connection: 'close' } })
      release()
      expect((await held).status).toBe(200)
      expect((await report).requests.rejected).toBe(1)
      expect(errors).toEqual([])
    } finally {
      agent.destroy()
      server.closeAllConnections()
      shutdown.dispose()
    }
  })

  it('answers probes through supertest before a router that claims every path', async () => {
    const shutdown = gracefulShutdown(quiet)
    const app = new Koa()
    app.use(shutdown)
    const router = new Router()
    router.all('/{*any}', (ctx) => void ((ctx.status = 418), (ctx.body = 'router')))
    app.use(router.routes())
    const server = shutdown.attach(createServer(app.callback()))
    try {
      await request(server).get('/healthz').expect(200, 'ok')
      await request(server).head('/healthz').expect(200)
      await request(server).get('/livez?verbose').expect(200, '[+]ping ok\nlivez check passed\n')
      await request(server).get('/other').expect(418, 'router')
    } finally {
      server.close()
      shutdown.dispose()
    }
  })
})
