import { createServer } from 'node:http'
import type { AdapterUnderTest } from '@lastcall/test-kit'
import { nodeServerAdapter } from '@lastcall/test-kit/node-server'
import type express from 'express'
import { gracefulShutdown } from '../src/index.js'

/**
 * The conformance app for one Express major version (the module is passed in:
 * `express` or `express4`). Both build apps of the same shape for what these
 * routes use; they are typed with Express 5's types here.
 */
export function expressAdapter(version: 4 | 5, expressModule: () => unknown): AdapterUnderTest {
  return nodeServerAdapter({
    name: `express ${version}`,
    fixture: new URL(`./fixtures/express${version}.ts`, import.meta.url),
    supports: { autoAttach: true },
    rejectedBody: /^Service Unavailable/,
    build(options, kit) {
      const shutdown = gracefulShutdown(options)
      const app = expressModule() as express.Express
      app.use(shutdown)
      // Registered after the adapter: if a probe reached the app, it would answer 418.
      app.get(['/healthz', '/readyz', '/livez', '/startupz'], (_req, res) => void res.status(418).send('app'))
      app.get('/ok', (_req, res) => void res.send('ok'))
      app.get('/slow', (req, res) => {
        kit.note('slow')
        const timer = setTimeout(() => res.send('slow'), Number(req.query.ms ?? 100))
        res.on('close', () => clearTimeout(timer))
      })
      app.get('/hold', (_req, res) => {
        kit.note('hold')
        void kit.gate().then(() => res.send('held'))
      })
      app.get('/signal', (req, res) => {
        kit.note('signal')
        const { signal } = req.lastcall
        signal.addEventListener('abort', () => {
          const code = (signal.reason as { code?: string }).code ?? 'unknown'
          kit.note(`aborted:${code}`)
          // The deadline answers 503 on its own in the same tick; the drain leaves the answer to us.
          setImmediate(() => {
            if (!res.headersSent) res.send(code)
          })
        }, { once: true })
      })
      app.get('/hang', () => kit.note('hang'))
      app.get('/partial', (_req, res) => {
        kit.note('partial')
        res.status(200).type('text').write('partial\n')
      })
      app.get('/sse', (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' })
        res.write('retry: 1000\ndata: hello\n\n')
        req.lastcall.signal.addEventListener('abort', () => res.end('event: bye\ndata: draining\n\n'), { once: true })
      })
      app.get('/stream', (_req, res) => {
        kit.note('stream')
        res.status(200).type('text').write('part one;')
        void kit.gate().then(() => res.end('part two'))
      })
      app.get('/flush', (_req, res) => {
        res.status(200).type('text').write('early;')
        setImmediate(() => res.end('late'))
      })
      app.get('/download', (req, res) => void res.type('application/octet-stream').send(Buffer.alloc(Number(req.query.bytes))))
      app.post('/upload', (req, res) => {
        kit.note('upload')
        let bytes = 0
        req.on('data', (chunk: Buffer) => (bytes += chunk.length))
        req.on('end', () => void res.send(`received ${bytes}`))
      })
      return { controller: shutdown, server: createServer(app) }
    },
  })
}
