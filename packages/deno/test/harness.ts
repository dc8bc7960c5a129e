import type { AdapterUnderTest, AppKit } from '@lastcall/test-kit'
import { nativeServerAdapter } from '@lastcall/test-kit/native-server'
import { gracefulShutdown, type DenoHandler, type DenoHttpServer } from '../src/index.js'

/** Resolves when `signal` aborts (at once if it has). */
const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))

const text = (body: string, status = 200): Response => new Response(body, { status, headers: { 'Content-Type': 'text/plain' } })

/** A body written by `write` (each call one chunk), for the streaming routes. */
function streamed(write: (enqueue: (chunk: string) => void) => Promise<void>, contentType = 'text/plain'): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      await write((chunk) => controller.enqueue(encoder.encode(chunk)))
      controller.close()
    },
  })
  return new Response(body, { headers: { 'Content-Type': contentType } })
}

/** The conformance app as a plain Deno.serve handler (see `AdapterApp` for the routes). */
function app(kit: AppKit): DenoHandler {
  return async (request) => {
    const url = new URL(request.url)
    const { signal } = request.lastcall
    switch (url.pathname) {
      case '/ok':
        return text('ok')
      case '/slow':
        kit.note('slow')
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 100)))
        return text('slow')
      case '/hold':
        kit.note('hold')
        await kit.gate()
        return text('held')
      case '/signal': {
        kit.note('signal')
        await aborted(signal)
        const code = (signal.reason as { code?: string }).code ?? 'unknown'
        kit.note(`aborted:${code}`)
        return text(code)
      }
      case '/hang':
        kit.note('hang')
        return new Promise<Response>(() => {})
      case '/partial':
        kit.note('partial')
        return streamed(async (enqueue) => {
          enqueue('partial\n')
          await new Promise(() => {})
        })
      case '/sse':
        return streamed(async (enqueue) => {
          enqueue('retry: 1000\ndata: hello\n\n')
          await aborted(signal)
          enqueue('event: bye\ndata: draining\n\n')
        }, 'text/event-stream')
      case '/stream':
        kit.note('stream')
        return streamed(async (enqueue) => {
          enqueue('part one;')
          await kit.gate()
          enqueue('part two')
        })
      case '/flush':
        return streamed(async (enqueue) => {
          enqueue('early;')
          await new Promise((resolve) => setTimeout(resolve, 0))
          enqueue('late')
        })
      case '/download':
        return new Response(new Uint8Array(Number(url.searchParams.get('bytes') ?? 0)))
      case '/upload': {
        kit.note('upload')
        const body = await request.arrayBuffer()
        return text(`received ${body.byteLength}`)
      }
      case '/healthz':
      case '/readyz':
      case '/livez':
      case '/startupz':
        // An app route: if a probe reached the app, it would answer 418.
        return text('app', 418)
      default:
        return text('not found', 404)
    }
  }
}

/** Deno.serve driven by @lastcall/deno's gracefulShutdown(): runs on Deno only (`runConformance(…, { runtime: 'deno' })`). */
export function denoServeAdapter(): AdapterUnderTest {
  return nativeServerAdapter({
    name: 'Deno.serve',
    fixture: new URL('./fixtures/denoServe.ts', import.meta.url),
    stop: "Deno.serve's shutdown()",
    build(options, kit) {
      const shutdown = gracefulShutdown(options)
      return {
        controller: shutdown,
        listen(port) {
          const server: DenoHttpServer = shutdown.serve({ port, hostname: '127.0.0.1', onListen() {} }, app(kit))
          return Promise.resolve(server.addr.port)
        },
      }
    },
  })
}
