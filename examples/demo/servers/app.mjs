// The demo service's routes, shared by every server variant so that only the
// shutdown handling differs between them.
//
//   GET  /fast           answers at once
//   GET  /slow?ms=1500   answers after `ms` (1-3 s in the demo's load)
//   GET  /stream?ms=50   early-flushed: the head and `early;` at once, `late` after `ms`
//   POST /orders         reads a JSON body, answers 201 with its size
//   GET  /events         an SSE stream: a tick every 200 ms; when `stop` aborts
//                        it sends a final `shutdown` event with a `retry:` hint and ends
//   GET  /readyz         200 while `isReady()`, else 503

import { earlyFlush } from './sse.mjs'

const TICK_MS = 200
const MAX_SLOW_MS = 10_000

/**
 * @param {{ stop: AbortSignal, isReady: () => boolean }} deps
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}
 */
export function createApp({ stop, isReady }) {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.method === 'GET' && url.pathname === '/fast') return send(res, 200, 'fast\n')
    if (req.method === 'GET' && url.pathname === '/slow') {
      const ms = Math.min(MAX_SLOW_MS, Math.max(0, Number(url.searchParams.get('ms')) || 1000))
      const timer = setTimeout(() => send(res, 200, `slow ${ms} ms\n`), ms)
      res.on('close', () => clearTimeout(timer))
      return
    }
    if (req.method === 'GET' && url.pathname === '/stream') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      const body = earlyFlush(url.searchParams.get('ms') ?? undefined)
      body.pipe(res)
      res.on('close', () => body.destroy())
      return
    }
    if (req.method === 'POST' && url.pathname === '/orders') {
      let size = 0
      req.on('data', (chunk) => (size += chunk.length))
      req.on('end', () => send(res, 201, JSON.stringify({ received: size }) + '\n', 'application/json'))
      return
    }
    if (req.method === 'GET' && url.pathname === '/events') return events(res, stop)
    if (req.method === 'GET' && url.pathname === '/readyz') return send(res, isReady() ? 200 : 503, isReady() ? 'ready\n' : 'shutting down\n')
    send(res, 404, 'not found\n')
  }
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} body
 */
function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {AbortSignal} stop
 */
function events(res, stop) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' })
  let n = 0
  const tick = setInterval(() => res.write(`event: tick\ndata: ${++n}\n\n`), TICK_MS)
  const end = () => {
    clearInterval(tick)
    // The client reconnects after `retry` ms, and by then to another instance.
    res.end('retry: 1000\nevent: shutdown\ndata: this instance is shutting down; reconnect\n\n')
  }
  if (stop.aborted) return end()
  stop.addEventListener('abort', end, { once: true })
  res.on('close', () => {
    clearInterval(tick)
    stop.removeEventListener('abort', end)
  })
}
