import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
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
  body?: string
  secure?: boolean
  headers?: Record<string, string>
}

/** One HTTP/1.1 request to 127.0.0.1; resolves with the reply or with the error's code (never rejects). */
export function send(port: number, path: string, { agent, method = 'GET', body, secure = false, headers = {} }: SendOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const make = secure ? httpsRequest : httpRequest
    const req = make({ host: '127.0.0.1', port, path, method, agent, headers, rejectUnauthorized: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, body: text, reused: req.reusedSocket } }))
      // A response cut off after its head: the socket was destroyed.
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket, headers: res.headers }))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket }))
    req.end(body)
  })
}

/** Like `send`, but throws unless the request got a complete response. */
export async function get(port: number, path: string, options?: SendOptions): Promise<Reply> {
  const outcome = await send(port, path, options)
  if (!outcome.ok) throw new Error(`GET ${path} failed with ${outcome.code}${outcome.reused ? ' on a reused socket' : ''}`)
  return outcome.reply
}

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
