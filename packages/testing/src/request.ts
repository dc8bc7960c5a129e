import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'

/**
 * What a client saw for one request during a shutdown:
 *
 * - `completed`: a full response with any status but 503.
 * - `rejected`: a full 503 response (see `retryAfter`): the server turned the request away, a client or balancer may retry it.
 * - `reset-reused`: the connection broke before a full response, on a keep-alive connection used before (the keep-alive race).
 * - `reset-new`: the connection broke before a full response, on a connection opened for this request.
 * - `refused`: the connection was refused (nothing listening).
 * - `hung`: no full response within the bound (`timeoutMs`).
 */
export type OutcomeKind = 'completed' | 'rejected' | 'reset-reused' | 'reset-new' | 'refused' | 'hung'

/** Every kind, in display order. */
export const OUTCOME_KINDS: readonly OutcomeKind[] = Object.freeze(['completed', 'rejected', 'reset-reused', 'reset-new', 'refused', 'hung'])

export interface RequestOutcome {
  kind: OutcomeKind
  method: string
  path: string
  /** The response status, for `completed` and `rejected`. */
  status?: number
  /** The `Retry-After` header of a response, when it had one. */
  retryAfter?: string
  /** Whether the response carried `Connection: close`. */
  connectionClose: boolean
  /** Whether the request went out on a keep-alive connection used before (`req.reusedSocket`). */
  reused: boolean
  /** The error code, for `reset-*`, `refused` and `hung` (`'HUNG'`). */
  code?: string
  /** The response body, for `completed` and `rejected`. */
  body?: string
  /** `performance.now()` when the request started and when its outcome was known. */
  startedAt: number
  endedAt: number
}

export interface SendOptions {
  /** Port on 127.0.0.1. */
  port: number
  /** @default '/' */
  path?: string
  /** @default 'GET' */
  method?: string
  /** Request body (sent with `Content-Length`). */
  body?: string
  headers?: Record<string, string>
  /**
   * The agent the request goes through. A keep-alive agent with
   * `maxSockets: 1` models one client connection; `false` opens a fresh
   * connection that closes after the response.
   * @default false
   */
  agent?: Agent | false
  /**
   * A request without a full response after this long is destroyed and counted `hung`.
   * @default 5000
   */
  timeoutMs?: number
  /** Called once the request has been written to the socket. */
  onSent?: () => void
}

class HungError extends Error {
  readonly code = 'HUNG'
}

const HEADER_ONLY = new Set(['HEAD'])

/** Sorts a client error into an outcome kind. */
export function classifyError(error: unknown, reused: boolean): OutcomeKind {
  if (error instanceof HungError) return 'hung'
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNREFUSED') return 'refused'
  return reused ? 'reset-reused' : 'reset-new'
}

/**
 * One HTTP/1.1 request to 127.0.0.1, classified. Never rejects: every
 * failure is an outcome. Bounded by `timeoutMs`.
 */
export function send(options: SendOptions): Promise<RequestOutcome> {
  const { port, path = '/', method = 'GET', body, headers = {}, agent = false, timeoutMs = 5000, onSent } = options
  const startedAt = performance.now()
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: Omit<RequestOutcome, 'method' | 'path' | 'startedAt' | 'endedAt'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ method, path, startedAt, endedAt: performance.now(), ...outcome })
    }
    const allHeaders: Record<string, string> = { ...headers }
    if (body !== undefined) allHeaders['content-length'] = String(Buffer.byteLength(body))
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent, headers: allHeaders }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        finish({
          kind: status === 503 ? 'rejected' : 'completed',
          status,
          ...retryAfterOf(res.headers),
          connectionClose: res.headers.connection?.toLowerCase() === 'close',
          reused: req.reusedSocket,
          body: Buffer.concat(chunks).toString('utf8'),
        })
      })
      // The response was cut off after its head: the connection broke.
      res.on('error', (error) => fail(error))
      res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })))
      if (HEADER_ONLY.has(method)) res.resume()
    })
    const fail = (error: unknown): void => {
      const reused = req.reusedSocket
      finish({ kind: classifyError(error, reused), reused, connectionClose: false, code: codeOf(error) })
    }
    const timer = setTimeout(() => req.destroy(new HungError(`no response within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', fail)
    if (onSent) req.on('finish', onSent)
    req.end(body)
  })
}

function retryAfterOf(headers: IncomingHttpHeaders): { retryAfter?: string } {
  const value = headers['retry-after']
  return value === undefined ? {} : { retryAfter: value }
}

function codeOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined
  return e?.code ?? e?.message ?? String(error)
}

/** Counts outcomes by kind (every kind present, zero when none). */
export function tally(outcomes: readonly RequestOutcome[]): Record<OutcomeKind, number> {
  const counts = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>
  for (const o of outcomes) counts[o.kind]++
  return counts
}

/** A keep-alive agent holding at most one connection: one simulated client connection. */
export function connectionAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 })
}
