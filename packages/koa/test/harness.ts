import { createServer } from 'node:http'
import { createServer as createH2Server } from 'node:http2'
import { PassThrough } from 'node:stream'
import Router from '@koa/router'
import type { AdapterUnderTest } from '@lastcall/test-kit'
import { nodeServerAdapter } from '@lastcall/test-kit/node-server'
import type Koa from 'koa'
import { gracefulShutdown } from '../src/index.js'

/** The conformance app for one Koa major version (the class is passed in: `koa` or `koa2`), routed by @koa/router, served through `app.callback()`. */
export function koaAdapter(version: 2 | 3, KoaClass: typeof Koa): AdapterUnderTest {
  return nodeServerAdapter({
    name: `koa ${version}`,
    fixture: new URL(`./fixtures/koa${version}.ts`, import.meta.url),
    supports: { autoAttach: true, http2: true },
    rejectedBody: 'Service Unavailable: shutting down\n',
    build(options, kit, variant) {
      const shutdown = gracefulShutdown(options)
      const app = new KoaClass()
      // A client cut off mid-stream (/partial past its deadline) is expected here, not worth a stack trace.
      app.silent = true
      app.use(shutdown)
      const router = new Router()
      // Registered after the adapter: if a probe reached the app, it would answer 418.
      for (const path of ['/healthz', '/readyz', '/livez', '/startupz']) router.get(path, (ctx) => void ((ctx.status = 418), (ctx.body = 'app')))
      router.get('/ok', (ctx) => void (ctx.body = 'ok'))
      router.get('/slow', async (ctx) => {
        kit.note('slow')
        await new Promise((resolve) => setTimeout(resolve, Number(ctx.query.ms ?? 100)))
        ctx.body = 'slow'
      })
      router.get('/hold', async (ctx) => {
        kit.note('hold')
        await kit.gate()
        ctx.body = 'held'
      })
      router.get('/signal', async (ctx) => {
        kit.note('signal')
        const { signal } = ctx.lastcall
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        const code = (signal.reason as { code?: string }).code ?? 'unknown'
        kit.note(`aborted:${code}`)
        ctx.body = code
      })
      router.get('/hang', async () => {
        kit.note('hang')
        await new Promise(() => {})
      })
      router.get('/partial', (ctx) => {
        kit.note('partial')
        const body = new PassThrough()
        body.write('partial\n')
        ctx.type = 'text'
        ctx.body = body
      })
      router.get('/sse', (ctx) => {
        const body = new PassThrough()
        body.write('retry: 1000\ndata: hello\n\n')
        ctx.lastcall.signal.addEventListener('abort', () => body.end('event: bye\ndata: draining\n\n'), { once: true })
        ctx.type = 'text/event-stream'
        ctx.set('Cache-Control', 'no-store')
        ctx.body = body
      })
      router.get('/stream', (ctx) => {
        kit.note('stream')
        const body = new PassThrough()
        body.write('part one;')
        void kit.gate().then(() => body.end('part two'))
        ctx.type = 'text'
        ctx.body = body
      })
      router.get('/flush', (ctx) => {
        const body = new PassThrough()
        body.write('early;')
        setImmediate(() => body.end('late'))
        ctx.type = 'text'
        ctx.body = body
      })
      router.get('/download', (ctx) => void ((ctx.type = 'application/octet-stream'), (ctx.body = Buffer.alloc(Number(ctx.query.bytes)))))
      router.post('/upload', async (ctx) => {
        kit.note('upload')
        let bytes = 0
        for await (const chunk of ctx.req) bytes += (chunk as Buffer).length
        ctx.body = `received ${bytes}`
      })
      app.use(router.routes())
      // Koa runs on node:http2's compatibility API as it is.
      const server = variant.http2 ? createH2Server(app.callback() as unknown as Parameters<typeof createH2Server>[0]) : createServer(app.callback())
      return { controller: shutdown, server }
    },
  })
}
