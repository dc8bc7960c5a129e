import 'reflect-metadata'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import type { AdapterUnderTest, AppKit } from '@lastcall/test-kit'
import { Controller, Get, HttpCode, Inject, Module, Post, Req, Res, type INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { expect } from 'vitest'
import { LastcallModule, LastcallService, enableLastcall, type LastcallModuleOptions, type LastcallRequestContext } from '../src/index.js'
import { EXPECTED_NEST_MAJOR, NEST_VERSION } from './nestVersion.js'

export type Platform = 'express' | 'fastify'

/** What a route gets as `@Req()`: Express's request, or Fastify's with the Node one as `raw`. */
type AnyRequest = IncomingMessage & { raw?: IncomingMessage; body?: unknown; lastcall: LastcallRequestContext; query: Record<string, string | undefined> }
/** What a route gets as `@Res()`: Express's response, or Fastify's reply. */
type AnyResponse = ServerResponse & { raw?: ServerResponse; hijack?: () => void }

/** The Node response under `@Res()`, taken over from Fastify when that is the platform. */
function nodeResponse(res: AnyResponse): ServerResponse {
  if (res.raw === undefined) return res
  res.hijack!()
  return res.raw
}

const KIT = 'TEST_KIT'

/**
 * Decorators applied as functions (`Reflect.decorate`, what TypeScript's
 * legacy decorators compile to): the same source runs under vitest and under
 * tsx in the child-process fixtures, whatever their decorator settings.
 */
function route(target: object, name: string, ...decorators: MethodDecorator[]): void {
  const proto = (target as { prototype: object }).prototype
  const descriptor = Reflect.decorate(decorators, proto, name, Object.getOwnPropertyDescriptor(proto, name)) as PropertyDescriptor | undefined
  if (descriptor) Object.defineProperty(proto, name, descriptor)
}

/** The conformance routes (`AdapterApp`), as a Nest controller. */
function routesController(): new (...args: never[]) => unknown {
  class Routes {
    readonly kit: AppKit
    constructor(kit: AppKit) {
      this.kit = kit
    }
    probe(): string {
      return 'app'
    }
    ok(): string {
      return 'ok'
    }
    async slow(req: AnyRequest): Promise<string> {
      this.kit.note('slow')
      await new Promise((resolve) => setTimeout(resolve, Number(req.query.ms ?? 100)))
      return 'slow'
    }
    async hold(): Promise<string> {
      this.kit.note('hold')
      await this.kit.gate()
      return 'held'
    }
    signal(req: AnyRequest, res: AnyResponse): void {
      this.kit.note('signal')
      const { signal } = req.lastcall
      const out = nodeResponse(res)
      signal.addEventListener('abort', () => {
        const code = (signal.reason as { code?: string }).code ?? 'unknown'
        this.kit.note(`aborted:${code}`)
        // The deadline answers 503 on its own in the same tick; the drain leaves the answer to us.
        setImmediate(() => {
          if (!out.headersSent) out.end(code)
        })
      }, { once: true })
    }
    async hang(): Promise<never> {
      this.kit.note('hang')
      return new Promise<never>(() => {})
    }
    partial(res: AnyResponse): void {
      this.kit.note('partial')
      const out = nodeResponse(res)
      out.writeHead(200, { 'Content-Type': 'text/plain' })
      out.write('partial\n')
    }
    sse(req: AnyRequest, res: AnyResponse): void {
      const out = nodeResponse(res)
      out.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' })
      out.write('retry: 1000\ndata: hello\n\n')
      req.lastcall.signal.addEventListener('abort', () => out.end('event: bye\ndata: draining\n\n'), { once: true })
    }
    stream(res: AnyResponse): void {
      this.kit.note('stream')
      const out = nodeResponse(res)
      out.writeHead(200, { 'Content-Type': 'text/plain' })
      out.write('part one;')
      void this.kit.gate().then(() => out.end('part two'))
    }
    flush(res: AnyResponse): void {
      const out = nodeResponse(res)
      out.writeHead(200, { 'Content-Type': 'text/plain' })
      out.write('early;')
      setImmediate(() => out.end('late'))
    }
    download(req: AnyRequest, res: AnyResponse): void {
      const out = nodeResponse(res)
      const bytes = Number(req.query.bytes)
      out.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) })
      out.end(Buffer.alloc(bytes))
    }
    upload(req: AnyRequest, res: AnyResponse): void {
      this.kit.note('upload')
      const out = nodeResponse(res)
      // Fastify has read a text/plain body already; Express (Nest's parsers off here) leaves it to the route.
      if (typeof req.body === 'string') return void out.end(`received ${Buffer.byteLength(req.body)}`)
      let bytes = 0
      const body = req.raw ?? req
      body.on('data', (chunk: Buffer) => (bytes += chunk.length))
      body.on('end', () => out.end(`received ${bytes}`))
    }
  }
  Reflect.decorate([Controller()], Routes)
  Inject(KIT)(Routes, undefined, 0)
  route(Routes, 'probe', Get(['healthz', 'readyz', 'livez', 'startupz']), HttpCode(418))
  route(Routes, 'ok', Get('ok'))
  route(Routes, 'slow', Get('slow'))
  route(Routes, 'hold', Get('hold'))
  route(Routes, 'hang', Get('hang'))
  for (const [name, path] of [['signal', 'signal'], ['sse', 'sse'], ['download', 'download']] as const) {
    route(Routes, name, Get(path))
    Req()(Routes.prototype, name, 0)
    Res()(Routes.prototype, name, 1)
  }
  for (const name of ['partial', 'stream', 'flush'] as const) {
    route(Routes, name, Get(name))
    Res()(Routes.prototype, name, 0)
  }
  route(Routes, 'upload', Post('upload'), HttpCode(200))
  Req()(Routes.prototype, 'upload', 0)
  Res()(Routes.prototype, 'upload', 1)
  Req()(Routes.prototype, 'slow', 0)
  return Routes as never
}

/** Builds and initializes a Nest app importing `LastcallModule.forRoot(options)` on `platform`. */
export async function createNestApp(platform: Platform, options: LastcallModuleOptions, kit: AppKit, { manage = true } = {}): Promise<INestApplication> {
  class AppModule {}
  Reflect.decorate([Module({ imports: [LastcallModule.forRoot(options)], controllers: [routesController()], providers: [{ provide: KIT, useValue: kit }] })], AppModule)
  // Nest's own parsers would read the upload body before the route: the route reads it itself.
  const app = await NestFactory.create(AppModule, platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false, bodyParser: false })
  if (manage) enableLastcall(app)
  await app.init()
  return app
}

/** The conformance app on one of Nest's platforms. */
export function nestAdapter(platform: Platform): AdapterUnderTest {
  // A wrong alias or hook would run the suite on the other Nest under this name.
  if (Number(NEST_VERSION.split('.')[0]) !== EXPECTED_NEST_MAJOR) throw new Error(`expected Nest ${EXPECTED_NEST_MAJOR}, loaded ${NEST_VERSION}`)
  return {
    name: `nestjs ${NEST_VERSION} (${platform})`,
    fixture: new URL(`./fixtures/nest-${platform}.ts`, import.meta.url).pathname,
    expectRejectedBody(body, contentType) {
      expect(contentType).toMatch(/^application\/json/)
      expect(JSON.parse(body)).toEqual({ message: 'Service Unavailable', statusCode: 503 })
    },
    async create(options, kit) {
      const app = await createNestApp(platform, options, kit)
      const server = app.getHttpServer() as Server
      return {
        controller: app.get(LastcallService),
        server,
        async listen(port = 0) {
          await app.listen(port, '127.0.0.1')
          return (server.address() as AddressInfo).port
        },
      }
    },
  }
}
