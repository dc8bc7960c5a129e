import { createServer as createH2Server } from 'node:http2'
import { createAdaptorServer } from '@hono/node-server'
import type { AdapterUnderTest } from '@lastcall/test-kit'
import { nodeServerAdapter } from '@lastcall/test-kit/node-server'
import { Hono } from 'hono'
import { stream, streamSSE } from 'hono/streaming'
import { gracefulShutdown } from '../src/index.js'

/** Resolves when `signal` aborts (at once if it has). */
const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))

/** The conformance app: Hono 4 routes, served by @hono/node-server (HTTP/1.1, or h2c with `createServer: http2.createServer`). */
export function honoAdapter(): AdapterUnderTest {
  return nodeServerAdapter({
    name: 'hono 4',
    fixture: new URL('./fixtures/hono4.ts', import.meta.url),
    supports: { autoAttach: true, http2: true },
    rejectedBody: 'Service Unavailable: shutting down\n',
    build(options, kit, variant) {
      const shutdown = gracefulShutdown(options)
      const app = new Hono()
      app.use(shutdown)
      // Registered after the adapter: if a probe reached the app, it would answer 418.
      for (const path of ['/healthz', '/readyz', '/livez', '/startupz']) app.get(path, (c) => c.text('app', 418))
      app.get('/ok', (c) => c.text('ok'))
      app.get('/slow', async (c) => {
        kit.note('slow')
        await new Promise((resolve) => setTimeout(resolve, Number(c.req.query('ms') ?? 100)))
        return c.text('slow')
      })
      app.get('/hold', async (c) => {
        kit.note('hold')
        await kit.gate()
        return c.text('held')
      })
      app.get('/signal', async (c) => {
        kit.note('signal')
        const { signal } = c.var.lastcall
        await aborted(signal)
        const code = (signal.reason as { code?: string }).code ?? 'unknown'
        kit.note(`aborted:${code}`)
        // Past requestTimeoutMs lastcall has answered 503 already: the adapter keeps this from being written over it.
        return c.text(code)
      })
      app.get('/hang', async () => {
        kit.note('hang')
        return new Promise<Response>(() => {})
      })
      app.get('/partial', (c) => {
        kit.note('partial')
        return stream(c, async (s) => {
          await s.write('partial\n')
          await new Promise(() => {})
        })
      })
      app.get('/sse', (c) => {
        c.header('Cache-Control', 'no-store')
        return streamSSE(c, async (sse) => {
          await sse.writeSSE({ data: 'hello', retry: 1000 })
          await aborted(c.var.lastcall.signal)
          await sse.writeSSE({ event: 'bye', data: 'draining' })
        })
      })
      app.get('/stream', (c) => {
        kit.note('stream')
        c.header('Content-Type', 'text/plain')
        return stream(c, async (s) => {
          await s.write('part one;')
          await kit.gate()
          await s.write('part two')
        })
      })
      app.get('/flush', (c) => {
        c.header('Content-Type', 'text/plain')
        return stream(c, async (s) => {
          await s.write('early;')
          await new Promise((resolve) => setImmediate(resolve))
          await s.write('late')
        })
      })
      app.get('/download', (c) => c.body(new Uint8Array(Number(c.req.query('bytes'))), 200, { 'Content-Type': 'application/octet-stream' }))
      app.post('/upload', async (c) => {
        kit.note('upload')
        const body = await c.req.arrayBuffer()
        return c.text(`received ${body.byteLength}`)
      })
      // createAdaptorServer is serve() without the listen: the suite listens when it wants to.
      return { controller: shutdown, server: createAdaptorServer({ fetch: app.fetch, ...(variant.http2 ? { createServer: createH2Server } : {}) }) }
    },
  })
}
