import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { OUTCOME_KINDS, type OutcomeKind } from '@lastcall/testing'

export interface Http2Result {
  /** Stream outcomes, classified like HTTP/1.1 requests (a stream on a session used before counts as reused). */
  byKind: Record<OutcomeKind, number>
  /** Sessions opened. */
  sessions: number
  /** Whether a GOAWAY frame was received. */
  goaway: boolean
  /** Set when no stream ever completed, e.g. the app does not speak cleartext HTTP/2. */
  error?: string
}

/** Errors that mean "not processed, retry elsewhere": the HTTP/2 equivalents of a refused connection. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ERR_HTTP2_GOAWAY_SESSION'])

/**
 * Sequential GETs over one HTTP/2 (h2c) session at a time until `signal`
 * aborts or a connection is refused. Each stream is bounded by `requestTimeoutMs`.
 */
export async function runHttp2(options: { port: number; path: string; signal: AbortSignal; requestTimeoutMs: number; maxStreams?: number }): Promise<Http2Result> {
  const { port, path, signal, requestTimeoutMs, maxStreams = 50_000 } = options
  const byKind = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>
  const result: Http2Result = { byKind, sessions: 0, goaway: false }
  let session: ClientHttp2Session | undefined
  let used = false
  let lastError = ''
  try {
    for (let n = 0; n < maxStreams && !signal.aborted; n++) {
      if (!session || session.closed || session.destroyed) {
        session?.destroy()
        session = connect(`http://127.0.0.1:${port}`)
        session.on('error', () => {})
        session.on('goaway', () => (result.goaway = true))
        result.sessions++
        used = false
      }
      const kind = await stream(session, path, used, requestTimeoutMs)
      if (typeof kind === 'string') byKind[kind]++
      else {
        byKind[kind.kind]++
        lastError = kind.code
      }
      const k = typeof kind === 'string' ? kind : kind.kind
      if (k === 'completed' || k === 'rejected') used = true
      if (k === 'refused' && lastError === 'ECONNREFUSED') break
      // Never a stream answered: the app does not speak h2c; do not hammer it with sessions.
      if (byKind.completed + byKind.rejected === 0 && k !== 'completed' && k !== 'rejected') break
      if (k !== 'completed' && k !== 'rejected') {
        session.destroy()
        session = undefined
      }
    }
  } finally {
    session?.destroy()
  }
  if (byKind.completed + byKind.rejected === 0 && lastError) result.error = lastError
  return result
}

function stream(session: ClientHttp2Session, path: string, reused: boolean, timeoutMs: number): Promise<OutcomeKind | { kind: OutcomeKind; code: string }> {
  return new Promise((resolve) => {
    let status = 0
    let done = false
    const finish = (value: OutcomeKind | { kind: OutcomeKind; code: string }): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(value)
    }
    const fail = (code: string): void => {
      if (code === 'HUNG') return finish({ kind: 'hung', code })
      finish({ kind: RETRYABLE.has(code) ? 'refused' : reused ? 'reset-reused' : 'reset-new', code })
    }
    const timer = setTimeout(() => {
      req.close(constants.NGHTTP2_CANCEL)
      fail('HUNG')
    }, timeoutMs)
    let req: ClientHttp2Stream
    try {
      req = session.request({ ':path': path, 'user-agent': 'lastcall-check' })
    } catch (error) {
      clearTimeout(timer)
      return fail((error as NodeJS.ErrnoException).code ?? 'ERR_HTTP2')
    }
    req.on('response', (headers) => (status = Number(headers[':status'])))
    req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'ERR_HTTP2'))
    req.on('data', () => {})
    req.on('end', () => {
      if (status > 0) finish(status === 503 ? 'rejected' : 'completed')
    })
    req.on('close', () => {
      // REFUSED_STREAM: the server never processed it (the GOAWAY race), like a refused connection.
      if (req.rstCode === constants.NGHTTP2_REFUSED_STREAM) fail('ERR_HTTP2_GOAWAY_SESSION')
      else if (status === 0) fail(`rst ${req.rstCode}`)
    })
    req.end()
  })
}
