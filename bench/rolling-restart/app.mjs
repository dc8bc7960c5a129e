// The routes every variant serves, so that only shutdown handling differs.
//   GET /fast, GET /slow?ms=N, GET /stream?ms=N (head and a first chunk at once, the end
//   N ms later: an early-flushing handler), POST /orders (JSON body), GET /readyz
// and the stdout protocol with run.mjs: `LISTENING <port>` once listening.
import { createServer } from 'node:http'

/**
 * @param {{ isReady?: () => boolean }} [deps]
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}
 */
export function createApp({ isReady = () => true } = {}) {
  return (req, res) => {
    const url = req.url ?? '/'
    if (url === '/fast') return send(res, 200, 'fast\n')
    if (url.startsWith('/slow')) {
      const ms = slowMs(url)
      const timer = setTimeout(() => send(res, 200, `slow ${ms}\n`), ms)
      res.on('close', () => clearTimeout(timer))
      return
    }
    if (url.startsWith('/stream')) return streamEarly(res, streamMs(url))
    if (url === '/orders' && req.method === 'POST') {
      let size = 0
      req.on('data', (chunk) => (size += chunk.length))
      req.on('end', () => send(res, 201, `{"received":${size}}\n`))
      return
    }
    if (url === '/readyz') return send(res, isReady() ? 200 : 503, isReady() ? 'ready\n' : 'not ready\n')
    send(res, 404, 'not found\n')
  }
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} body
 */
function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

/** The length of a `/slow?ms=N` request (default 1 s, at most 5 s). @param {string} url */
export function slowMs(url) {
  return Math.min(5000, Number(new URL(url, 'http://x').searchParams.get('ms')) || 1000)
}

/** The length of a `/stream?ms=N` response after its head (default 50 ms, at most 1 s). @param {string} url */
export function streamMs(url) {
  const ms = Number(new URL(url, 'http://x').searchParams.get('ms') ?? 50)
  return Number.isFinite(ms) ? Math.min(1000, Math.max(0, ms)) : 50
}

/**
 * Sends the head and a first chunk at once and ends `ms` later, as any
 * streaming or early-flushing handler does: a response under way when the
 * drain starts, whose client sends its next request the moment it ends.
 * @param {import('node:http').ServerResponse} res
 * @param {number} ms
 */
export function streamEarly(res, ms) {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.write('early;')
  const timer = setTimeout(() => res.end('late\n'), ms)
  res.on('close', () => clearTimeout(timer))
}

/**
 * The same routes for Fastify variants (GET /fast, GET /slow?ms=N, GET /stream?ms=N, POST /orders).
 * @param {import('fastify').FastifyInstance} app
 */
export function fastifyRoutes(app) {
  app.get('/fast', async (_request, reply) => reply.type('text/plain').send('fast\n'))
  app.get('/slow', async (request, reply) => {
    const ms = slowMs(request.url)
    await new Promise((resolve) => setTimeout(resolve, ms))
    return reply.type('text/plain').send(`slow ${ms}\n`)
  })
  app.get('/stream', (request, reply) => {
    reply.hijack()
    streamEarly(reply.raw, streamMs(request.url))
  })
  app.post('/orders', async (request, reply) => reply.code(201).type('application/json').send(`{"received":${JSON.stringify(request.body).length}}\n`))
}

/**
 * The same routes for Hono variants (on @hono/node-server): `/stream` through
 * hono/streaming's `stream()`, the way a Hono app flushes early.
 * @param {import('hono').Hono} app
 * @param {typeof import('hono/streaming').stream} stream
 */
export function honoRoutes(app, stream) {
  app.get('/fast', (c) => c.text('fast\n'))
  app.get('/slow', async (c) => {
    const ms = slowMs(c.req.url)
    await new Promise((resolve) => setTimeout(resolve, ms))
    return c.text(`slow ${ms}\n`)
  })
  app.get('/stream', (c) => {
    const ms = streamMs(c.req.url)
    c.header('Content-Type', 'text/plain')
    return stream(c, async (s) => {
      await s.write('early;')
      await s.sleep(ms)
      await s.write('late\n')
    })
  })
  app.post('/orders', async (c) => c.body(`{"received":${(await c.req.arrayBuffer()).byteLength}}\n`, 201, { 'Content-Type': 'application/json' }))
}

/**
 * The same routes as a Nest controller on the Express platform (Nest's JSON
 * body parser on). Plain JavaScript has no decorators: they are applied with
 * `Reflect.decorate`, as TypeScript's output does; Nest's are passed in so
 * that this file imports no framework. `readyz` adds `GET /readyz` (always
 * 200), for variants without lastcall's probes.
 * @param {typeof import('@nestjs/common')} nest
 * @param {{ readyz?: boolean }} [o]
 */
export function nestController(nest, { readyz = false } = {}) {
  const { Controller, Get, Post, Req, Res } = nest
  class Routes {
    fast() {
      return 'fast\n'
    }
    /** @param {import('node:http').IncomingMessage} req */
    async slow(req) {
      const ms = slowMs(req.url ?? '')
      await new Promise((resolve) => setTimeout(resolve, ms))
      return `slow ${ms}\n`
    }
    /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
    stream(req, res) {
      streamEarly(res, streamMs(req.url ?? ''))
    }
    /** @param {{ body: unknown }} req */
    orders(req) {
      return `{"received":${JSON.stringify(req.body).length}}\n`
    }
    readyz() {
      return 'ready\n'
    }
  }
  Reflect.decorate([Controller()], Routes)
  const routes = /** @type {const} */ ([['fast', Get('fast')], ['slow', Get('slow')], ['stream', Get('stream')], ['orders', Post('orders')], ...(readyz ? [/** @type {const} */ (['readyz', Get('readyz')])] : [])])
  for (const [name, decorator] of routes) {
    const proto = /** @type {Record<string, unknown>} */ (Routes.prototype)
    Object.defineProperty(proto, name, /** @type {PropertyDescriptor} */ (Reflect.decorate([decorator], proto, name, Object.getOwnPropertyDescriptor(proto, name))))
  }
  for (const name of ['slow', 'stream', 'orders']) Req()(Routes.prototype, name, 0)
  Res()(Routes.prototype, 'stream', 1)
  return Routes
}

/**
 * The same routes as a fetch handler (a web `Request` in, a `Response` out),
 * for the `Deno.serve` variants.
 * @param {{ isReady?: () => boolean }} [deps]
 * @returns {(request: Request) => Promise<Response>}
 */
export function fetchApp({ isReady = () => true } = {}) {
  const text = (status, body) => new Response(body, { status, headers: { 'Content-Type': 'text/plain' } })
  return async (request) => {
    const url = new URL(request.url)
    const path = url.pathname + url.search
    if (url.pathname === '/fast') return text(200, 'fast\n')
    if (url.pathname === '/slow') {
      const ms = slowMs(path)
      await new Promise((resolve) => setTimeout(resolve, ms))
      return text(200, `slow ${ms}\n`)
    }
    if (url.pathname === '/stream') {
      const ms = streamMs(path)
      const encoder = new TextEncoder()
      const body = new globalThis.ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode('early;'))
          setTimeout(() => {
            controller.enqueue(encoder.encode('late\n'))
            controller.close()
          }, ms)
        },
      })
      return new Response(body, { headers: { 'Content-Type': 'text/plain' } })
    }
    if (url.pathname === '/orders' && request.method === 'POST') return text(201, `{"received":${(await request.arrayBuffer()).byteLength}}\n`)
    if (url.pathname === '/readyz') return isReady() ? text(200, 'ready\n') : text(503, 'not ready\n')
    return text(404, 'not found\n')
  }
}

/**
 * lastcall's options for a variant: the library's defaults, except the logger
 * (off) and `--readiness-delay-ms N` (a fixed delay) when given.
 * @returns {{ logger: false, readinessDelayMs?: number }}
 */
export function lastcallOptions() {
  const delay = arg('--readiness-delay-ms')
  return { logger: false, ...(delay === undefined ? {} : { readinessDelayMs: Number(delay) }) }
}

/** The port from `--port N` (run.mjs always passes one). */
export function portArg() {
  const i = process.argv.indexOf('--port')
  return i > 0 ? Number(process.argv[i + 1]) : 0
}

/** An argument's value, or undefined. @param {string} name */
export function arg(name) {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}

/**
 * Listens on 127.0.0.1 and announces the port.
 * @param {import('node:http').Server} server
 */
export function listen(server) {
  server.listen(portArg(), '127.0.0.1', () => listening(server))
  return server
}

/**
 * Announces the port a listening server got.
 * @param {import('node:net').Server} server
 */
export function listening(server) {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`LISTENING ${address.port}`)
}

export { createServer }
