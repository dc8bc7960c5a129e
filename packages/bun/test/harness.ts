import type { AdapterUnderTest, AppKit } from '@lastcall/test-kit'
import { nativeServerAdapter } from '@lastcall/test-kit/native-server'
import { gracefulShutdown, type BunServerLike, type BunWebSocketLike, type LastcallRequest } from '../src/index.js'

/** `Bun.serve()` as this test uses it (the tests run on Node; only the fixture runs on Bun). */
interface BunServer extends BunServerLike {
  readonly port: number
}
interface BunGlobal {
  serve(options: {
    port: number
    hostname: string
    fetch: (request: Request, server: BunServer) => unknown
    websocket?: { open?(ws: BunWebSocketLike): unknown; message(ws: BunWebSocketLike & { send(data: string): unknown }, data: unknown): unknown; close?(ws: BunWebSocketLike, code: number, reason: string): unknown }
  }): BunServer
}

const encoder = new TextEncoder()

/** Resolves when `signal` aborts (at once if it has). */
const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))

/** A streaming body: `first` at once, then whatever `rest` enqueues before it closes (or never, when it returns false). */
function streamed(first: string, rest: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<boolean>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(first))
      if (await rest(controller)) controller.close()
    },
  })
}

/** The conformance app as a plain `fetch` handler, the way Bun apps are written. */
export function app(kit: AppKit) {
  return async (request: LastcallRequest, server: BunServerLike): Promise<Response | undefined> => {
    const url = new URL(request.url)
    const { signal } = request.lastcall
    switch (url.pathname) {
      case '/healthz':
      case '/readyz':
      case '/livez':
      case '/startupz':
        // Only reached if a probe got past lastcall.
        return new Response('app', { status: 418 })
      case '/ok':
        return new Response('ok')
      case '/slow':
        kit.note('slow')
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 100)))
        return new Response('slow')
      case '/hold':
        kit.note('hold')
        await kit.gate()
        return new Response('held')
      case '/signal': {
        kit.note('signal')
        await aborted(signal)
        const code = (signal.reason as { code?: string }).code ?? 'unknown'
        kit.note(`aborted:${code}`)
        return new Response(code)
      }
      case '/hang':
        kit.note('hang')
        return new Promise<Response>(() => {})
      case '/partial':
        kit.note('partial')
        return new Response(streamed('partial\n', () => new Promise(() => {})))
      case '/sse':
        return new Response(
          streamed('retry: 1000\ndata: hello\n\n', async (c) => {
            await aborted(signal)
            c.enqueue(encoder.encode('event: bye\ndata: draining\n\n'))
            return true
          }),
          { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' } },
        )
      case '/stream':
        kit.note('stream')
        return new Response(
          streamed('part one;', async (c) => {
            await kit.gate()
            c.enqueue(encoder.encode('part two'))
            return true
          }),
          { headers: { 'Content-Type': 'text/plain' } },
        )
      case '/flush':
        return new Response(
          streamed('early;', async (c) => {
            await new Promise((resolve) => setTimeout(resolve, 0))
            c.enqueue(encoder.encode('late'))
            return true
          }),
          { headers: { 'Content-Type': 'text/plain' } },
        )
      case '/download':
        return new Response(new Uint8Array(Number(url.searchParams.get('bytes'))), { headers: { 'Content-Type': 'application/octet-stream' } })
      case '/upload': {
        kit.note('upload')
        const body = await request.arrayBuffer()
        return new Response(`received ${body.byteLength}`)
      }
      case '/ws':
        if (server.upgrade(request)) return undefined
        return new Response('upgrade expected', { status: 400 })
      default:
        return new Response('not found', { status: 404 })
    }
  }
}

/** The conformance app on `Bun.serve`, through `@lastcall/bun`. */
export function bunServeAdapter(): AdapterUnderTest {
  return nativeServerAdapter({
    name: 'Bun.serve',
    fixture: new URL('./fixtures/bunServe.ts', import.meta.url),
    stop: "Bun.serve's stop(false)",
    build(options, kit) {
      const shutdown = gracefulShutdown(options)
      const handler = shutdown.fetch(app(kit))
      const websocket = shutdown.websocket({
        open(ws: BunWebSocketLike & { send(data: string): unknown }) {
          ws.send('hello')
        },
        message() {},
      })
      return {
        controller: shutdown,
        async listen(port) {
          const bun = (globalThis as { Bun?: BunGlobal }).Bun
          if (bun === undefined) throw new Error('Bun.serve needs Bun: this app runs under runConformance(..., { runtime: "bun" }) only')
          const server = shutdown.attach(bun.serve({ port, hostname: '127.0.0.1', fetch: handler, websocket }))
          return server.port
        },
      }
    },
  })
}
