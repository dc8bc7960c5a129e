import 'reflect-metadata'
import { once } from 'node:events'
import type { AddressInfo, Server } from 'node:net'
import { get, send, TestKit } from '@lastcall/test-kit'
import { Controller, Get, Module, type INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { LastcallError, LastcallModule, LastcallOptionError, LastcallService, LastcallSignal, ShutdownController, enableLastcall, type ShutdownReport } from '../src/index.js'
import { createNestApp } from './harness.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

const apps: INestApplication[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) {
    ;(app.getHttpServer() as { closeAllConnections?: () => void }).closeAllConnections?.()
    app.get(LastcallService).dispose()
  }
})

/** A controller whose one route answers whether `@LastcallSignal()` got the request's signal. */
function signalController(): new () => unknown {
  class Signal {
    check(signal: AbortSignal): string {
      return String(signal instanceof AbortSignal && !signal.aborted)
    }
  }
  Reflect.decorate([Controller()], Signal)
  Object.defineProperty(Signal.prototype, 'check', Reflect.decorate([Get('signal')], Signal.prototype, 'check', Object.getOwnPropertyDescriptor(Signal.prototype, 'check')) as PropertyDescriptor)
  LastcallSignal()(Signal.prototype, 'check', 0)
  return Signal
}

async function listen(app: INestApplication): Promise<number> {
  apps.push(app)
  await app.listen(0, '127.0.0.1')
  return ((app.getHttpServer() as Server).address() as AddressInfo).port
}

describe('LastcallModule', () => {
  for (const platform of ['express', 'fastify'] as const) {
    it(`${platform}: LastcallService is the controller, injectable anywhere; addCheck fails readiness; @LastcallSignal() gives the request's signal`, async () => {
      class Health {
        constructor(readonly lastcall: LastcallService) {}
      }
      class AppModule {}
      Reflect.decorate([Module({ imports: [LastcallModule.forRoot(quiet)], controllers: [signalController()], providers: [{ provide: Health, useFactory: (l: LastcallService) => new Health(l), inject: [LastcallService] }] })], AppModule)
      const app = await NestFactory.create(AppModule, platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false })
      const service = app.get(Health).lastcall
      expect(service).toBeInstanceOf(ShutdownController)
      expect(app.get(ShutdownController)).toBe(service)
      let healthy = true
      service.addCheck('db', () => healthy, { cacheMs: 0 })
      const port = await listen(app)
      await service.reached('serving')
      expect(await get(port, '/readyz')).toMatchObject({ status: 200 })
      healthy = false
      expect(await get(port, '/readyz')).toMatchObject({ status: 503 })
      expect(await get(port, '/signal')).toMatchObject({ status: 200, body: 'true' })
    })
  }

  for (const platform of ['express', 'fastify'] as const) {
    it(`${platform}: a provider registers cleanup with LastcallService.onShutdown; it runs in its phase, after Nest's own hooks, and is reported`, async () => {
      const order: string[] = []
      class Database {
        constructor(lastcall: LastcallService) {
          lastcall.onShutdown('db', () => void order.push('db.end'), { phase: 'stores' })
        }
        onModuleDestroy(): void {
          order.push('onModuleDestroy')
        }
      }
      class AppModule {}
      Reflect.decorate([Module({ imports: [LastcallModule.forRoot(quiet)], providers: [{ provide: Database, useFactory: (l: LastcallService) => new Database(l), inject: [LastcallService] }] })], AppModule)
      const app = enableLastcall(await NestFactory.create(AppModule, platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false }))
      app.get(Database)
      await listen(app)
      const report = await app.get(LastcallService).shutdown('test')
      expect(order).toEqual(['onModuleDestroy', 'db.end'])
      // The report lists hooks as registered; `order` shows how they ran.
      expect(report.hooks.map((h) => [h.name, h.phase, h.outcome]).sort()).toEqual([
        ['db', 'stores', 'ok'],
        ['nest.close', 'default', 'ok'],
      ])
      expect(report.exitCode).toBe(0)
    })
  }

  it('forRootAsync takes its options from a factory with injected providers', async () => {
    class Config {
      readonly drainTimeoutMs = 1234
    }
    class ConfigModule {}
    Reflect.decorate([Module({ providers: [Config], exports: [Config] })], ConfigModule)
    class AppModule {}
    Reflect.decorate([Module({ imports: [LastcallModule.forRootAsync({ imports: [ConfigModule], inject: [Config], useFactory: async (config: Config) => ({ ...quiet, drainTimeoutMs: config.drainTimeoutMs }) })] })], AppModule)
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false })
    apps.push(app)
    expect(app.get(LastcallService).options.drainTimeoutMs).toBe(1234)
  })

  it('rejects bad options when the app is created, with a LastcallOptionError', async () => {
    class AppModule {}
    Reflect.decorate([Module({ imports: [LastcallModule.forRoot({ ...quiet, whileDraining: 'maybe' as 'serve' })] })], AppModule)
    await expect(NestFactory.create(AppModule, new ExpressAdapter(), { logger: false, abortOnError: false })).rejects.toThrow(LastcallOptionError)
  })

  it('enableLastcall() on an app without the module throws a LastcallError that says so', async () => {
    class AppModule {}
    Reflect.decorate([Module({})], AppModule)
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false })
    expect(() => enableLastcall(app)).toThrow(LastcallError)
    expect(() => enableLastcall(app)).toThrow(/LastcallModule\.forRoot/)
    await app.close()
  })

  it('app.close() on an app that never listened (tests that only init()) disposes lastcall: no shutdown, no exit', async () => {
    const exits: number[] = []
    const app = await createNestApp('express', { ...quiet, exit: (code) => exits.push(code) }, new TestKit())
    const controller = app.get(LastcallService)
    await app.close()
    expect(controller.state).toBe('starting')
    expect(exits).toEqual([])
  })

  for (const platform of ['express', 'fastify'] as const) {
    it(`${platform}: a direct app.close() starts lastcall at the drain: the request in flight completes with Connection: close, exit code 0`, async () => {
      const exits: number[] = []
      const kit = new TestKit()
      const app = await createNestApp(platform, { ...quiet, readinessDelayMs: 60_000, timeoutMs: 90_000, exit: (code) => exits.push(code) }, kit)
      const port = await listen(app)
      const controller = app.get(LastcallService)
      const pending = send(port, '/hold', { agent: false })
      await kit.waitNote('hold')
      const closed = app.close()
      // No readiness delay: whoever called close() has decided to stop.
      await controller.reached('draining')
      kit.openGate()
      expect(await pending).toMatchObject({ ok: true, reply: { status: 200, body: 'held', headers: { connection: 'close' } } })
      await closed
      const report = controller.report ?? (await once(controller, 'closed'))[0] as ShutdownReport
      expect(report.trigger).toEqual({ type: 'manual', reason: 'app.close() called' })
      expect(report.exitCode).toBe(0)
      expect(exits).toEqual([0])
    })
  }
})
