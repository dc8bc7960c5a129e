// The demo's SSE stream as a Readable, for the framework servers: a `tick`
// event every 200 ms; when `signal` aborts (lastcall's drain signal for this
// request) a final `shutdown` event with a `retry:` hint, then the end. The
// framework pipes it to the response and destroys it if the client goes away.
import { PassThrough } from 'node:stream'

const TICK_MS = 200

/**
 * @param {AbortSignal} signal
 * @returns {PassThrough}
 */
export function eventStream(signal) {
  const stream = new PassThrough()
  let n = 0
  const tick = setInterval(() => stream.write(`event: tick\ndata: ${++n}\n\n`), TICK_MS)
  const end = () => {
    clearInterval(tick)
    // The client reconnects after `retry` ms, and by then to another instance.
    stream.end('retry: 1000\nevent: shutdown\ndata: this instance is shutting down; reconnect\n\n')
  }
  stream.on('close', () => {
    clearInterval(tick)
    signal.removeEventListener('abort', end)
  })
  if (signal.aborted) end()
  else signal.addEventListener('abort', end, { once: true })
  return stream
}

/** Response headers of the stream. */
export const EVENT_STREAM_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' }

/**
 * A readable that yields `early;` at once and `late` after `ms` (0-1000, 50
 * when missing): the body of `/stream`, an early-flushing response whose head
 * goes out before its end, so one can be under way when the drain starts.
 * @param {unknown} ms
 */
export function earlyFlush(ms) {
  const stream = new PassThrough()
  stream.write('early;')
  const wait = Math.min(1000, Math.max(0, Number(ms ?? 50) || 0))
  const timer = setTimeout(() => stream.end('late\n'), wait)
  stream.on('close', () => clearTimeout(timer))
  return stream
}

/** How long `/slow?ms=` waits: 1 s when missing, at most 10 s. */
/** @param {unknown} ms */
export function slowMs(ms) {
  return Math.min(10_000, Math.max(0, Number(ms) || 1000))
}
