/**
 * Real clients for the long-lived connection tests: node:http2 sessions, a
 * raw WebSocket client that never answers a close frame, an SSE reader.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import { connect, type Socket } from 'node:net'
import type { ShutdownReport } from '../src/index.js'

export async function h2client(port: number, secure = false): Promise<ClientHttp2Session> {
  const session = h2connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, secure ? { rejectUnauthorized: false } : {})
  session.on('error', () => {})
  await once(session, 'connect')
  return session
}

export type H2Outcome = { ok: true; status: number; headers: IncomingHttpHeaders; body: string } | { ok: false; code: string }

/** One HTTP/2 request; resolves with the reply or with the error's code (never rejects). */
export function h2send(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): Promise<H2Outcome> {
  return new Promise((resolve) => {
    let stream
    try {
      stream = session.request({ ':path': path, ...headers })
    } catch (error) {
      resolve({ ok: false, code: (error as NodeJS.ErrnoException).code ?? String(error) })
      return
    }
    let status = 0
    let responseHeaders: IncomingHttpHeaders = {}
    let body = ''
    stream.setEncoding('utf8')
    stream.on('response', (h) => {
      status = Number(h[':status'])
      responseHeaders = h
    })
    stream.on('data', (chunk: string) => (body += chunk))
    stream.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }))
    stream.on('close', () => {
      if (stream.rstCode !== 0 && status === 0) resolve({ ok: false, code: `rst ${stream.rstCode}` })
      else resolve({ ok: true, status, headers: responseHeaders, body })
    })
    stream.end()
  })
}

/** The GOAWAY frames a client session receives: [error code, last stream id]. */
export function recordGoaways(session: ClientHttp2Session): Array<[number, number]> {
  const frames: Array<[number, number]> = []
  session.on('goaway', (code: number, lastStreamID: number) => frames.push([code, lastStreamID]))
  return frames
}

export interface RawWebSocket {
  socket: Socket
  /** Everything the server sent after the 101 head. */
  received(): Buffer
  closed: Promise<void>
}

/**
 * A WebSocket client written on a bare socket: it completes the handshake,
 * then ignores everything, including the server's close frame, the way a
 * stuck or malicious client would.
 */
export async function rawWebSocket(port: number, path = '/'): Promise<RawWebSocket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const closed = once(socket, 'close').then(() => undefined)
  await once(socket, 'connect')
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  let data = Buffer.alloc(0)
  let headEnd = -1
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk])
      headEnd = data.indexOf('\r\n\r\n')
      if (headEnd === -1) return
      socket.off('data', onData)
      const head = data.subarray(0, headEnd).toString()
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`no upgrade: ${head}`))
      else resolve()
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error('closed during the handshake')))
  })
  let after = data.subarray(headEnd + 4)
  socket.on('data', (chunk: Buffer) => (after = Buffer.concat([after, chunk])))
  return { socket, received: () => after, closed }
}

/** Sends a raw HTTP/1.1 request on `socket` and resolves with the bytes received until the socket closes. */
export async function rawExchange(socket: Socket, text: string): Promise<string> {
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (received += chunk))
  const closed = once(socket, 'close')
  socket.write(text)
  await closed
  return received
}

export interface SseStream {
  /** Each event's fields, in order. */
  events: Array<Record<string, string>>
  /** Resolves once `count` events arrived. */
  waitForEvents(count: number): Promise<void>
  /** Resolves when the response ended; `complete` is false when it was cut off. */
  ended: Promise<{ complete: boolean }>
  status: number
}

/** A plain node:http (or https) client reading a text/event-stream response. */
export async function sseClient(port: number, path: string, secure = false): Promise<SseStream> {
  const make = secure ? httpsRequest : httpRequest
  const req = make({ host: '127.0.0.1', port, path, agent: false, rejectUnauthorized: false, headers: { Accept: 'text/event-stream' } })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const events: Array<Record<string, string>> = []
  const waiters: Array<{ count: number; resolve: () => void }> = []
  let buffer = ''
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: Record<string, string> = {}
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':')
        if (colon <= 0) continue
        event[line.slice(0, colon)] = line.slice(colon + 1).trimStart()
      }
      events.push(event)
    }
    for (const w of [...waiters]) {
      if (events.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  })
  const ended = new Promise<{ complete: boolean }>((resolve) => {
    res.on('end', () => resolve({ complete: true }))
    res.on('error', () => resolve({ complete: false }))
    res.on('close', () => resolve({ complete: res.complete }))
  })
  return {
    events,
    status: res.statusCode ?? 0,
    ended,
    waitForEvents: (count) =>
      events.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
  }
}

/** Milliseconds from the start of the drain to its end (the `closing` step) in a report. */
export function drainDuration(report: ShutdownReport): number {
  const draining = report.timeline.find((t) => t.state === 'draining')
  const closing = report.timeline.find((t) => t.state === 'closing') ?? report.timeline.find((t) => t.state === 'closed')
  if (draining === undefined || closing === undefined) throw new Error('the report has no drain in its timeline')
  return closing.offsetMs - draining.offsetMs
}

/**
 * Connections the drain closed by its own means (idle after the linger, or
 * after their last response, GOAWAY or WebSocket close): a drain that ends
 * this way did not wait for a keep-alive timeout, a client or the deadline,
 * which is what a bound on its duration in milliseconds tried to say without
 * racing a loaded machine's clock.
 */
export function closedByTheDrain(report: ShutdownReport): number {
  return report.connections.closedIdle + report.connections.closedAfterResponse
}
