import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createShutdown } from '@lastcall/core'
import type { AppKit } from '../src/index.js'
import { nodeServerAdapter } from '../src/nodeServer.js'

function routes(kit: AppKit, signalOf: (req: IncomingMessage) => AbortSignal) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x')
    const text = (body: string, status = 200): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    }
    switch (url.pathname) {
      case '/healthz': case '/readyz': case '/livez': case '/startupz':
        return text('app', 418)
      case '/ok':
        return text('ok')
      case '/slow': {
        kit.note('slow')
        const timer = setTimeout(() => text('slow'), Number(url.searchParams.get('ms') ?? 100))
        res.on('close', () => clearTimeout(timer))
        return
      }
      case '/hold':
        kit.note('hold')
        return void kit.gate().then(() => text('held'))
      case '/signal': {
        kit.note('signal')
        const signal = signalOf(req)
        signal.addEventListener('abort', () => {
          const code = (signal.reason as { code?: string }).code ?? 'unknown'
          kit.note(`aborted:${code}`)
          setImmediate(() => {
            if (!res.headersSent) text(code)
          })
        }, { once: true })
        return
      }
      case '/hang':
        return kit.note('hang')
      case '/partial':
        kit.note('partial')
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        return void res.write('partial\n')
      case '/sse':
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' })
        res.write('retry: 1000\ndata: hello\n\n')
        return signalOf(req).addEventListener('abort', () => res.end('event: bye\ndata: draining\n\n'), { once: true })
      case '/stream':
        kit.note('stream')
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.write('part one;')
        return void kit.gate().then(() => res.end('part two'))
      case '/flush':
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.write('early;')
        return void setImmediate(() => res.end('late'))
      case '/download': {
        const body = Buffer.alloc(Number(url.searchParams.get('bytes')))
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length })
        return void res.end(body)
      }
      case '/upload': {
        kit.note('upload')
        let bytes = 0
        req.on('data', (chunk: Buffer) => (bytes += chunk.length))
        return void req.on('end', () => text(`received ${bytes}`))
      }
      default:
        return text('not found', 404)
    }
  }
}

/** `@lastcall/core` on its own: a plain `node:http` server with `controller.handler()`. */
export const coreAdapter = nodeServerAdapter({
  name: 'core (node:http)',
  fixture: new URL('./fixtures/core.ts', import.meta.url),
  rejectedBody: /^Service Unavailable/,
  build(options, kit) {
    const controller = createShutdown(options)
    return { controller, server: createServer(controller.handler(routes(kit, (req) => controller.signalFor(req)))) }
  },
})
