/**
 * The HTTP clients the tests share: one request that never rejects, keep-alive
 * agents, the keep-alive hammer loops, and a raw TCP client for what a real
 * client library will not send.
 */
import { once } from 'node:events'
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { ClientHttp2Session } from 'node:http2'
import { connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** Whether the request went out on a connection the agent had used before. */
  reused: boolean
}

export type Outcome = { ok: true; reply: Reply } | { ok: false; code: string; reused: boolean; headers?: IncomingHttpHeaders }

export interface SendOptions {
  agent?: Agent | false
  method?: string
  body?: string | undefined
  secure?: boolean
  headers?: Record<string, string>
  /** Called with the response as soon as its head arrives (before its body). */
  onResponse?: (res: import('node:http').IncomingMessage) => void
  /** Called with the request as soon as it is made, to follow its events (`socket`, `finish`). */
  onRequest?: (req: import('node:http').ClientRequest) => void
}

/** One HTTP/1.1 request to 127.0.0.1; resolves with the reply or with the error's code (never rejects). */
export function send(port: number, path: string, { agent, method = 'GET', body, secure = false, headers = {}, onResponse, onRequest }: SendOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const make = secure ? httpsRequest : httpRequest
    const req = make({ host: '127.0.0.1', port, path, method, agent, headers, rejectUnauthorized: false }, (res) => {
      onResponse?.(res)
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, body: text, reused: req.reusedSocket } }))
      // A response cut off after its head: the socket was destroyed.
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket, headers: res.headers }))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket }))
    onRequest?.(req)
    req.end(body)
  })
}

/** Like `send`, but throws unless the request got a complete response. */
export async function get(port: number, path: string, options?: SendOptions): Promise<Reply> {
  const outcome = await send(port, path, options)
  if (!outcome.ok) throw new Error(`GET ${path} failed with ${outcome.code}${outcome.reused ? ' on a reused socket' : ''}`)
  return outcome.reply
}

/** Listens on 127.0.0.1 and `port` (default: an ephemeral one); resolves with the port. */
export async function listen(server: Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** A keep-alive agent (HTTPS without certificate checks when `secure`). */
export function keepAliveAgent(secure = false, maxSockets = 8): Agent {
  return secure ? new HttpsAgent({ keepAlive: true, maxSockets, rejectUnauthorized: false }) : new Agent({ keepAlive: true, maxSockets })
}

/** Number of sockets an agent keeps open but idle right now. */
export function idleSockets(agent: Agent): number {
  return Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0)
}

export interface HammerResult {
  client: string
  /** Complete responses, by status. */
  statuses: Record<number, number>
  /** Errors on connections the client had used before: the failures that count. */
  resetsOnReused: string[]
  /** Errors on fresh connections (refused once the listener closed: expected). */
  freshErrors: string[]
  /** Complete responses that carried `Connection: close`. */
  closes: number
}

/**
 * Sends requests back to back over a keep-alive `http.Agent` until a new
 * connection is refused (the listener closed), `max` requests, or `stop()`.
 * `onCount` is called after every response, so a test can start the
 * shutdown mid-load without sleeping.
 */
export async function hammerAgent(port: number, path: string, agent: Agent, { max = 3000, onCount }: { max?: number; onCount?: (n: number) => void } = {}): Promise<HammerResult> {
  const result: HammerResult = { client: 'http.Agent', statuses: {}, resetsOnReused: [], freshErrors: [], closes: 0 }
  for (let n = 1; n <= max; n++) {
    const outcome = await send(port, path, { agent })
    if (outcome.ok) {
      result.statuses[outcome.reply.status] = (result.statuses[outcome.reply.status] ?? 0) + 1
      if (outcome.reply.headers.connection === 'close') result.closes++
      onCount?.(n)
      continue
    }
    if (outcome.reused) result.resetsOnReused.push(outcome.code)
    else result.freshErrors.push(outcome.code)
    if (outcome.code === 'ECONNREFUSED') break
  }
  return result
}

/**
 * The same with Node's `fetch` (undici, keep-alive by default). `fetch` does
 * not say whether a connection was reused, so every error other than a
 * refused connection counts as a reset.
 */
export async function hammerFetch(port: number, path: string, { max = 3000, onCount }: { max?: number; onCount?: (n: number) => void } = {}): Promise<HammerResult> {
  const result: HammerResult = { client: 'fetch', statuses: {}, resetsOnReused: [], freshErrors: [], closes: 0 }
  for (let n = 1; n <= max; n++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`)
      await res.text()
      result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1
      if (res.headers.get('connection') === 'close') result.closes++
      onCount?.(n)
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      const code = cause?.code ?? cause?.message ?? String(error)
      if (code === 'ECONNREFUSED') {
        result.freshErrors.push(code)
        break
      }
      result.resetsOnReused.push(code)
    }
  }
  return result
}

/** Resolves when `emitter` emits `event` with arguments `accept` likes (listener-based: misses nothing). */
export function onceMatching<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string, accept: (...args: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const listener = (...args: unknown[]): void => {
      if (!accept(...(args as T))) return
      emitter.off(event, listener)
      resolve(args as T)
    }
    emitter.on(event, listener)
  })
}

/** A raw TCP client speaking HTTP/1.x by hand: pipelining, HTTP/1.0, exact timing of its writes. */
export class RawClient {
  /** Everything received so far, as latin1 text. */
  text = ''
  readonly closed: Promise<void>
  #waiters: Array<() => void> = []

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      this.text += chunk
      for (const wake of this.#waiters.splice(0)) wake()
    })
    // A reset is an outcome the test reads from `error`, not a crash.
    socket.on('error', (error: NodeJS.ErrnoException) => (this.error = error.code ?? error.message))
    this.closed = new Promise((resolve) => socket.once('close', () => {
      for (const wake of this.#waiters.splice(0)) wake()
      resolve()
    }))
  }

  /** The socket's error code, if it had one (`ECONNRESET`). */
  error: string | undefined

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1', () => resolve(new RawClient(socket)))
      socket.once('error', reject)
    })
  }

  write(data: string): void {
    this.socket.write(data)
  }

  /** Resolves once the received text satisfies `done`; rejects if the socket closes first. */
  async until(done: (text: string) => boolean): Promise<void> {
    while (!done(this.text)) {
      if (this.socket.destroyed) throw new Error(`socket closed before the expected data; received:\n${this.text}`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** Resolves once `count` complete responses have arrived. */
  responses(count: number): Promise<void> {
    return this.until((text) => parseResponses(text).length >= count)
  }
}

/** A GET written by hand (`Host` included). */
export function rawGet(path: string, { version = '1.1', headers = '' }: { version?: '1.0' | '1.1'; headers?: string } = {}): string {
  return `GET ${path} HTTP/${version}\r\nHost: 127.0.0.1\r\n${headers}\r\n`
}

export interface RawResponse {
  status: number
  /** Lower-cased names. */
  headers: Record<string, string>
  body: string
}

/** The complete responses in `text` (Content-Length or chunked bodies; interim 1xx responses included). */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = []
  let at = 0
  for (;;) {
    const headEnd = text.indexOf('\r\n\r\n', at)
    if (headEnd === -1) return out
    const [statusLine = '', ...lines] = text.slice(at, headEnd).split('\r\n')
    const status = Number(statusLine.split(' ')[1])
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    let cursor = headEnd + 4
    let body = ''
    if (status >= 200 && headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const sizeEnd = text.indexOf('\r\n', cursor)
        if (sizeEnd === -1) return out
        const size = parseInt(text.slice(cursor, sizeEnd), 16)
        if (text.length < sizeEnd + 2 + size + 2) return out
        body += text.slice(sizeEnd + 2, sizeEnd + 2 + size)
        cursor = sizeEnd + 2 + size + 2
        if (size === 0) break
      }
    } else if (status >= 200) {
      const length = Number(headers['content-length'] ?? 0)
      if (text.length < cursor + length) return out
      body = text.slice(cursor, cursor + length)
      cursor += length
    }
    out.push({ status, headers, body })
    at = cursor
  }
}

/** One HTTP/2 GET on `session`; resolves with the status and body, rejects on a stream error. */
export function h2get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path })
    let status = 0
    let body = ''
    stream.setEncoding('utf8')
    stream.on('response', (headers) => (status = Number(headers[':status'])))
    stream.on('data', (chunk: string) => (body += chunk))
    stream.on('end', () => resolve({ status, body }))
    stream.on('error', reject)
  })
}
