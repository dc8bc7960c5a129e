// The servers measured by the overhead benchmark: one minimal route
// (`GET /` → 200 "hello world") per framework, bare or with lastcall.
//
// As a program: `node servers.mjs <framework> <bare|lastcall>` listens on
// 127.0.0.1:0 and prints `{"port":N}` on one line. run.mjs starts it pinned
// to one core and stops it by pid.
//
// Frameworks and adapters are imported from the workspace package of the
// adapter (packages/<name>), so the framework version is the one the adapter
// is tested against. Adding a framework is one entry in FRAMEWORKS.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const BODY = 'hello world'
const root = new URL('../../', import.meta.url)

/**
 * Imports `specifier` as resolved from the workspace package in
 * `packages/<dir>`; a `@lastcall/*` package is imported from its ESM build
 * (`pnpm build` first).
 */
export async function workspaceImport(dir, specifier) {
  if (specifier.startsWith('@lastcall/')) {
    return import(new URL(`packages/${specifier.slice('@lastcall/'.length)}/dist/index.mjs`, root).href)
  }
  const require = createRequire(new URL(`packages/${dir}/package.json`, root))
  return import(pathToFileURL(require.resolve(specifier)).href)
}

/** The installed version of `specifier` as seen from `packages/<dir>`. */
export function workspaceVersion(dir, specifier) {
  const require = createRequire(new URL(`packages/${dir}/package.json`, root))
  if (specifier.startsWith('@lastcall/')) {
    return JSON.parse(readFileSync(new URL(`packages/${specifier.slice('@lastcall/'.length)}/package.json`, root), 'utf8')).version
  }
  // Walk up from the entry point to the package's own package.json.
  let dirPath = fileURLToPath(new URL('.', pathToFileURL(require.resolve(specifier))))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(`${dirPath}/package.json`, 'utf8'))
      if (pkg.name === specifier) return pkg.version
    } catch {
      // not here; go up
    }
    dirPath = `${dirPath}/..`
  }
  return 'unknown'
}

/**
 * name → { packages: [[dir, specifier], ...] whose versions are reported,
 *          start(variant): Promise<http.Server> listening on 127.0.0.1:0 }.
 * The lastcall variant uses the library's defaults (logger off only, so no
 * lifecycle lines reach stdout). The `noop` variant is the bare framework
 * with one middleware (hook) that only passes the request on: the cost of
 * integrating through the framework's extension point at all.
 */
export const FRAMEWORKS = {
  'node:http': {
    packages: [['core', '@lastcall/core']],
    async start(variant) {
      const hello = (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end(BODY)
      }
      if (variant === 'bare') return listen(http.createServer(hello))
      // One more function between Node and the route, as any wrapper adds.
      if (variant === 'noop') return listen(http.createServer((req, res) => hello(req, res)))
      const { createShutdown } = await workspaceImport('core', '@lastcall/core')
      const shutdown = createShutdown({ logger: false })
      return listen(shutdown.attach(http.createServer(shutdown.handler(hello))))
    },
  },
  express: {
    packages: [['express', 'express'], ['express', '@lastcall/express']],
    async start(variant) {
      const { default: express } = await workspaceImport('express', 'express')
      const app = express()
      let shutdown
      if (variant === 'lastcall') {
        const { gracefulShutdown } = await workspaceImport('express', '@lastcall/express')
        shutdown = gracefulShutdown({ logger: false })
        app.use(shutdown)
      } else if (variant === 'noop') {
        app.use(noopMiddleware)
      }
      app.get('/', (req, res) => {
        res.type('text/plain').send(BODY)
      })
      const server = http.createServer(app)
      shutdown?.attach(server)
      return listen(server)
    },
  },
  koa: {
    packages: [['koa', 'koa'], ['koa', '@lastcall/koa']],
    async start(variant) {
      const { default: Koa } = await workspaceImport('koa', 'koa')
      const app = new Koa()
      let shutdown
      if (variant === 'lastcall') {
        const { gracefulShutdown } = await workspaceImport('koa', '@lastcall/koa')
        shutdown = gracefulShutdown({ logger: false })
        app.use(shutdown)
      } else if (variant === 'noop') {
        app.use((ctx, next) => next())
      }
      app.use((ctx) => {
        ctx.type = 'text/plain'
        ctx.body = BODY
      })
      const server = http.createServer(app.callback())
      shutdown?.attach(server)
      return listen(server)
    },
  },
  fastify: {
    packages: [['fastify', 'fastify'], ['fastify', '@lastcall/fastify']],
    async start(variant) {
      const { default: Fastify } = await workspaceImport('fastify', 'fastify')
      // Fastify's defaults (its logger is off by default).
      const app = Fastify()
      if (variant === 'lastcall' || variant === 'server') {
        const { gracefulShutdown } = await workspaceImport('fastify', '@lastcall/fastify')
        await app.register(gracefulShutdown, { logger: false, admitAt: variant === 'server' ? 'server' : 'hook' })
      } else if (variant === 'noop') {
        app.addHook('onRequest', (request, reply, done) => done())
      }
      app.get('/', (request, reply) => {
        reply.type('text/plain').send(BODY)
      })
      // Fastify owns its server (app.server, attached by the plugin): listen through Fastify.
      await app.listen({ port: 0, host: '127.0.0.1' })
      return app.server
    },
  },
  hono: {
    packages: [['hono', 'hono'], ['hono', '@hono/node-server'], ['hono', '@lastcall/hono']],
    async start(variant) {
      const { Hono } = await workspaceImport('hono', 'hono')
      const { createAdaptorServer } = await workspaceImport('hono', '@hono/node-server')
      const app = new Hono()
      let shutdown
      if (variant === 'lastcall') {
        const { gracefulShutdown } = await workspaceImport('hono', '@lastcall/hono')
        shutdown = gracefulShutdown({ logger: false })
        app.use(shutdown)
      } else if (variant === 'noop') {
        app.use((c, next) => next())
      }
      app.get('/', (c) => c.text(BODY))
      const server = createAdaptorServer({ fetch: app.fetch })
      shutdown?.attach(server)
      return listen(server)
    },
  },
  nestjs: {
    packages: [['nestjs', '@nestjs/core'], ['nestjs', '@nestjs/platform-express'], ['nestjs', '@lastcall/nestjs']],
    async start(variant) {
      await workspaceImport('nestjs', 'reflect-metadata')
      const { Controller, Get, Header, Module } = await workspaceImport('nestjs', '@nestjs/common')
      const { NestFactory } = await workspaceImport('nestjs', '@nestjs/core')
      const { ExpressAdapter } = await workspaceImport('nestjs', '@nestjs/platform-express')
      class Hello {
        hello() {
          return BODY
        }
      }
      Reflect.decorate([Controller()], Hello)
      Object.defineProperty(Hello.prototype, 'hello', Reflect.decorate([Get(), Header('Content-Type', 'text/plain')], Hello.prototype, 'hello', Object.getOwnPropertyDescriptor(Hello.prototype, 'hello')))
      const imports = []
      if (variant === 'lastcall') {
        const { LastcallModule } = await workspaceImport('nestjs', '@lastcall/nestjs')
        imports.push(LastcallModule.forRoot({ logger: false }))
      }
      class AppModule {}
      Reflect.decorate([Module({ imports, controllers: [Hello] })], AppModule)
      // Nest on its default platform (Express); the module attaches the server itself.
      const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false })
      if (variant === 'noop') app.use(noopMiddleware)
      await app.listen(0, '127.0.0.1')
      return app.getHttpServer()
    },
  },
}

/** The `noop` variant's one middleware: what any `app.use()` integration costs before doing anything. */
function noopMiddleware(req, res, next) {
  next()
}

/** Whether a framework's adapter can be imported now (adapters are built separately). */
export async function adapterAvailable(name) {
  const fw = FRAMEWORKS[name]
  if (fw === undefined) return false
  try {
    for (const [dir, specifier] of fw.packages) await workspaceImport(dir, specifier)
    return true
  } catch {
    return false
  }
}

async function listen(server) {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [name, variant] = process.argv.slice(2)
  if (FRAMEWORKS[name] === undefined || (variant !== 'bare' && variant !== 'lastcall')) {
    console.error(`usage: node servers.mjs <${Object.keys(FRAMEWORKS).join('|')}> <bare|lastcall>`)
    process.exit(2)
  }
  const server = await FRAMEWORKS[name].start(variant)
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
}
