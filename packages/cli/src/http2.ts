import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { OUTCOME_KINDS, type LoadRequest, type OutcomeKind, type Readiness, type RequestOutcome } from '@lastcall/testing'

export interface Http2Result {
  /** Stream outcomes, classified like HTTP/1.1 requests (a stream on a session that had answered before counts as reused). */
  byKind: Record<OutcomeKind, number>
  /**
   * The same, for streams whose outcome came after the first GOAWAY: `completed` are streams in flight at the GOAWAY
   * that were still served, `refused` are streams the client could no longer open there (safe to retry elsewhere).
   */
  afterGoaway: Record<OutcomeKind, number>
  /** Full responses by status. */
  statuses: Record<string, number>
  /** Sessions opened by the load (readiness probes not counted). */
  sessions: number
  /** Whether a GOAWAY frame was received. */
  goaway: boolean
  /** Milliseconds from SIGTERM to the first GOAWAY; `null` if none came after SIGTERM. */
  goawayAfterMs: number | null
  /** Whether the app also answered HTTP/1.1 on the port (then the HTTP/1.1 load ran beside the HTTP/2 one). */
  http1: boolean
  /** Set when no stream ever got an answer, e.g. the app does not speak cleartext HTTP/2. */
  error?: string
}

/** Why a stream ended without an answer, as the client saw it. */
type Failure = { kind: OutcomeKind; code: string }

const emptyCounts = (): Record<OutcomeKind, number> => Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>

/** Whether `code` is an error Node's HTTP/2 client gives for a stream the server never processed. */
const NEVER_PROCESSED = new Set(['ECONNREFUSED', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION', 'REFUSED_STREAM'])

/**
 * One stream on `session`, classified like an HTTP/1.1 request. Never
 * rejects. `reused` says whether the session had answered a stream before.
 * A stream the server never processed (refused connection, a session that
 * got GOAWAY, `REFUSED_STREAM`) is `refused`: safe to retry elsewhere.
 */
export function sendStream(session: ClientHttp2Session, request: LoadRequest & { timeoutMs: number; reused: boolean; headers?: Record<string, string> }): Promise<RequestOutcome> {
  const { method = 'GET', path, body, timeoutMs, reused, headers = {} } = request
  const startedAt = performance.now()
  return new Promise((resolve) => {
    let status = 0
    let retryAfter: string | undefined
    let done = false
    const finish = (outcome: { kind: OutcomeKind; status?: number; code?: string }): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve({ method, path, reused, connectionClose: false, startedAt, endedAt: performance.now(), ...(retryAfter === undefined ? {} : { retryAfter }), ...outcome })
    }
    const fail = (f: Failure): void => finish(f)
    const failWith = (code: string): void => fail({ kind: NEVER_PROCESSED.has(code) ? 'refused' : reused ? 'reset-reused' : 'reset-new', code })
    let req: ClientHttp2Stream | undefined
    const timer = setTimeout(() => {
      req?.close(constants.NGHTTP2_CANCEL)
      fail({ kind: 'hung', code: 'HUNG' })
    }, timeoutMs)
    try {
      const h: Record<string, string> = { ':method': method, ':path': path, ...headers }
      if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body))
      req = session.request(h)
    } catch (error) {
      // Thrown before anything was sent: the session had received GOAWAY (ERR_HTTP2_GOAWAY_SESSION) or was already gone.
      return failWith(codeOf(error))
    }
    req.on('response', (h) => {
      status = Number(h[':status'])
      const ra = h['retry-after']
      if (typeof ra === 'string') retryAfter = ra
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A stream reset by the server with REFUSED_STREAM was never processed (the GOAWAY race).
      if (req?.rstCode === constants.NGHTTP2_REFUSED_STREAM) failWith('REFUSED_STREAM')
      else failWith(codeOf(error))
    })
    req.on('data', () => {})
    req.on('end', () => {
      if (status > 0) finish({ kind: status === 503 ? 'rejected' : 'completed', status })
    })
    req.on('close', () => {
      if (req?.rstCode === constants.NGHTTP2_REFUSED_STREAM) failWith('REFUSED_STREAM')
      else if (!done) failWith(`RST_STREAM ${req?.rstCode ?? '?'}`)
    })
    req.end(body)
  })
}

/**
 * The error's code; for a stream cancelled because its session failed
 * (`ERR_HTTP2_STREAM_CANCEL`), the session's error code (`ECONNREFUSED`).
 */
function codeOf(error: unknown): string {
  const e = error as (NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) | undefined
  if (e?.code === 'ERR_HTTP2_STREAM_CANCEL' && e.cause?.code) return e.cause.code
  return e?.code ?? 'ERR_HTTP2'
}

/** Opens a session to 127.0.0.1:`port` whose errors are seen through its streams. */
function open(port: number): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${port}`)
  // Connection errors (ECONNREFUSED, a reset) also fail the session's streams, which classify them.
  session.on('error', () => {})
  return session
}

/**
 * One request on a fresh h2c session that is closed afterwards, as a
 * balancer's HTTP/2 health check does.
 */
export async function sendHttp2(options: { port: number; path: string; timeoutMs: number; headers?: Record<string, string> }): Promise<RequestOutcome & { settings: boolean }> {
  const session = open(options.port)
  // An HTTP/2 server sends its SETTINGS frame as soon as the connection opens; an HTTP/1.1 server never does.
  let settings = false
  session.once('remoteSettings', () => (settings = true))
  try {
    const outcome = await sendStream(session, { path: options.path, timeoutMs: options.timeoutMs, reused: false, ...(options.headers ? { headers: options.headers } : {}) })
    return { ...outcome, settings }
  } finally {
    session.destroy()
  }
}

/**
 * `waitForReady` over h2c, for an app that speaks only cleartext HTTP/2:
 * `path` answering 2xx means ready, 503 starting, 404 no readiness endpoint
 * (then `/` answering below 500 means up). Each attempt follows the previous
 * attempt's error with a backoff from 10 to 200 ms, bounded by `timeoutMs`.
 */
export async function waitForReadyHttp2(options: { port: number; path: string; timeoutMs: number; signal: AbortSignal; headers?: Record<string, string> }): Promise<Readiness> {
  const { port, path, timeoutMs, signal, headers } = options
  const t0 = performance.now()
  let current = path
  let endpoint = true
  let wait = 10
  let last = 'no attempt'
  let notH2 = 0
  while (performance.now() - t0 < timeoutMs) {
    signal.throwIfAborted()
    const left = Math.max(1, timeoutMs - (performance.now() - t0))
    const o = await sendHttp2({ port, path: current, timeoutMs: Math.min(left, 1000), ...(headers ? { headers } : {}) })
    // Accepted but no SETTINGS frame (an HTTP/1.1 server hangs or answers 400): twice in a row means no h2c here.
    notH2 = o.code !== 'ECONNREFUSED' && !o.settings ? notH2 + 1 : 0
    if (notH2 === 2) throw new Error(`the app accepts connections but sends no HTTP/2 SETTINGS frame (last: ${o.code ?? o.status}): it does not speak cleartext HTTP/2 (h2c)`)
    if (o.status !== undefined) {
      if (endpoint && o.status === 404 && current !== '/') {
        current = '/'
        endpoint = false
        continue
      }
      if (endpoint ? o.status >= 200 && o.status < 300 : o.status < 500) return { path: current, endpoint, ms: Math.round(performance.now() - t0) }
      last = `${current} answered ${o.status}`
    } else {
      last = `${current}: ${o.code}`
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, Math.min(wait, Math.max(1, timeoutMs - (performance.now() - t0))))
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    wait = Math.min(wait * 2, 200)
  }
  throw new Error(`app on port ${port} not ready over h2c within ${timeoutMs} ms (last: ${last})`)
}

export interface Http2LoadOptions {
  port: number
  /** The mix; stream worker `i` starts at entry `i` and cycles through it. */
  requests: readonly LoadRequest[]
  /** Streams kept in flight at once on the session. */
  streams: number
  requestTimeoutMs: number
  /** Stops opening streams when it aborts (the app exited, or the check is over). */
  signal: AbortSignal
  /** `performance.now()` of SIGTERM, once sent. */
  sigtermAt: () => number | null
  http1: boolean
  maxStreams?: number
  headers?: Record<string, string>
  onOutcome?: (outcome: RequestOutcome) => void
}

/**
 * HTTP/2 load as a long-lived direct client (a gRPC channel, a service mesh
 * sidecar) sends it: `streams` workers multiplex their requests over one
 * session, keep using it until the server sends GOAWAY, then reconnect. It
 * does not follow readiness: only GOAWAY or a refused connection tells such
 * a client to leave. It stops when a connection is refused, `signal` aborts,
 * or `maxStreams` streams were sent.
 */
export async function runHttp2(options: Http2LoadOptions): Promise<Http2Result> {
  const { port, requests, streams, requestTimeoutMs, signal, sigtermAt, http1, maxStreams = 50_000, headers, onOutcome } = options
  const result: Http2Result = { byKind: emptyCounts(), afterGoaway: emptyCounts(), statuses: {}, sessions: 0, goaway: false, goawayAfterMs: null, http1 }
  const stop = new AbortController()
  const stopAll = (): void => stop.abort()
  signal.addEventListener('abort', stopAll, { once: true })
  if (signal.aborted) stopAll()
  let current: ClientHttp2Session | undefined
  const all = new Set<ClientHttp2Session>()
  /** Sessions that received a GOAWAY, and those whose streams have been answered. */
  const wentAway = new WeakSet<ClientHttp2Session>()
  const answered = new WeakSet<ClientHttp2Session>()
  let firstGoawayAt: number | null = null
  let sent = 0
  let lastError = ''

  const session = (): ClientHttp2Session => {
    // A session that got GOAWAY is still handed out, so the next stream meets the GOAWAY as a real client's queued request would.
    if (current && (!current.destroyed || wentAway.has(current))) return current
    const s = open(port)
    all.add(s)
    result.sessions++
    s.on('goaway', () => {
      wentAway.add(s)
      result.goaway = true
      const at = performance.now()
      firstGoawayAt ??= at
      const sigterm = sigtermAt()
      if (result.goawayAfterMs === null && sigterm !== null) result.goawayAfterMs = Math.round(at - sigterm)
    })
    s.once('close', () => all.delete(s))
    current = s
    return s
  }

  const worker = async (i: number): Promise<void> => {
    for (let n = i; !stop.signal.aborted && sent < maxStreams; n++) {
      sent++
      const s = session()
      const o = await sendStream(s, { ...requests[n % requests.length]!, timeoutMs: requestTimeoutMs, reused: answered.has(s), ...(headers ? { headers } : {}) })
      record(o)
      if (o.kind === 'completed' || o.kind === 'rejected') answered.add(s)
      // Reconnect for the next stream once this session went away or broke. A stream that hung or was reset alone
      // leaves the session (and its other streams) in use, as HTTP/2 clients do.
      else if (current === s && (s.destroyed || s.closed || wentAway.has(s))) current = undefined
      if (o.code === 'ECONNREFUSED') stop.abort()
      // Never a stream answered: the app does not speak h2c; do not hammer it with sessions.
      if (o.kind !== 'completed' && o.kind !== 'rejected' && result.byKind.completed + result.byKind.rejected === 0 && sigtermAt() === null) {
        lastError = o.code ?? o.kind
        stop.abort()
      }
    }
  }

  const record = (o: RequestOutcome): void => {
    result.byKind[o.kind]++
    if (firstGoawayAt !== null && o.endedAt >= firstGoawayAt) result.afterGoaway[o.kind]++
    if (o.status !== undefined) result.statuses[o.status] = (result.statuses[o.status] ?? 0) + 1
    onOutcome?.(o)
  }

  try {
    await Promise.all(Array.from({ length: streams }, (_, i) => worker(i)))
  } finally {
    signal.removeEventListener('abort', stopAll)
    for (const s of all) s.destroy()
  }
  if (result.byKind.completed + result.byKind.rejected === 0 && lastError) result.error = lastError
  return result
}
