import { PassThrough } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { tlsOptions, type AdapterUnderTest, type AppKit } from '@lastcall/test-kit'
import Fastify, { type FastifyInstance } from 'fastify'
import { expect } from 'vitest'
import { gracefulShutdown } from '../src/index.js'

/** The conformance app's routes, on any Fastify instance that registered the plugin. */
export function routes(app: FastifyInstance, kit: AppKit): void {
  // Registered after the plugin: if a probe reached the app, it would answer 418.
  for (const url of ['/healthz', '/readyz', '/livez', '/startupz']) app.get(url, async (_request, reply) => reply.code(418).send('app'))
  app.get('/ok', async () => 'ok')
  app.get<{ Querystring: { ms?: string } }>('/slow', async (request) => {
    kit.note('slow')
    await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 100)))
    return 'slow'
  })
  app.get('/hold', async () => {
    kit.note('hold')
    await kit.gate()
    return 'held'
  })
  app.get('/signal', async (request) => {
    kit.note('signal')
    const { signal } = request.lastcall
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    const code = (signal.reason as { code?: string }).code ?? 'unknown'
    kit.note(`aborted:${code}`)
    return code
  })
  app.get('/hang', async () => {
    kit.note('hang')
    await new Promise(() => {})
  })
  app.get('/partial', async (_request, reply) => {
    kit.note('partial')
    const body = new PassThrough()
    body.write('partial\n')
    return reply.type('text/plain').send(body)
  })
  app.get('/stream', async (_request, reply) => {
    kit.note('stream')
    const body = new PassThrough()
    body.write('part one;')
    void kit.gate().then(() => body.end('part two'))
    return reply.type('text/plain').send(body)
  })
  app.get('/flush', async (_request, reply) => {
    const body = new PassThrough()
    body.write('early;')
    setImmediate(() => body.end('late'))
    return reply.type('text/plain').send(body)
  })
  app.get<{ Querystring: { bytes: string } }>('/download', async (request, reply) => reply.type('application/octet-stream').send(Buffer.alloc(Number(request.query.bytes))))
  // The body reaches the handler parsed (text/plain); a slow upload is seen in flight from the server's \`request\` event.
  app.post('/upload', async (request) => {
    kit.note('upload')
    return `received ${(request.body as string).length}`
  })
  app.get('/sse', async (request, reply) => {
    const body = new PassThrough()
    body.write('retry: 1000\ndata: hello\n\n')
    request.lastcall.signal.addEventListener('abort', () => body.end('event: bye\ndata: draining\n\n'), { once: true })
    return reply.type('text/event-stream').header('cache-control', 'no-store').send(body)
  })
}

export const fastifyAdapter: AdapterUnderTest = {
  name: 'fastify 5',
  fixture: new URL('./fixtures/fastify5.ts', import.meta.url).pathname,
  supports: { http2: true, https: true },
  expectRejectedBody(body, contentType) {
    expect(contentType).toMatch(/^application\/json/)
    expect(JSON.parse(body)).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'The server is shutting down' })
  },
  async create(options, kit, variant) {
    // One static type for the three server kinds (the type tests cover each on its own).
    const app = (variant.http2 ? Fastify({ http2: true }) : variant.https ? Fastify({ https: tlsOptions() }) : Fastify()) as unknown as FastifyInstance
    await app.register(gracefulShutdown, options)
    routes(app, kit)
    return {
      controller: app.shutdown,
      server: app.server,
      async listen(port = 0) {
        await app.listen({ port, host: '127.0.0.1' })
        return (app.server.address() as AddressInfo).port
      },
    }
  },
}

/** The same app with `admitAt: 'server'`: probes and 503s answered at `app.server`, no hook of lastcall's. */
export const fastifyServerAdmissionAdapter: AdapterUnderTest = {
  ...fastifyAdapter,
  name: 'fastify 5, admitAt: server',
  fixture: new URL('./fixtures/fastify5-server.ts', import.meta.url).pathname,
  create: (options, kit, variant) => fastifyAdapter.create({ ...options, admitAt: 'server' } as typeof options, kit, variant),
}
