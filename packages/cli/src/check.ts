import { LastcallOptionError } from '@lastcall/core'
import { freePort, OUTCOME_KINDS, runLoad, send, tally, waitForReady, type LoadRequest, type OutcomeKind, type Readiness, type RequestOutcome } from '@lastcall/testing'
import { spawnApp, type AppExit, type SpawnedApp } from './signals.js'
import type { CheckResult, Finding, Phase, Progress } from './result.js'
import { verdict } from './verdict.js'
import { watchWebSocket, type WebSocketResult } from './webSocket.js'
import { runHttp2, sendHttp2, waitForReadyHttp2, type Http2Result } from './http2.js'

export interface CheckOptions {
  /** The app's command and arguments, run without a shell. */
  command: readonly string[]
  /**
   * Simulated keep-alive client connections.
   * @default 8
   */
  connections?: number
  /**
   * Load time: SIGTERM is sent halfway through it.
   * @default 4000
   */
  durationMs?: number
  /**
   * Path of the fast requests (GET and POST).
   * @default '/'
   */
  path?: string
  /**
   * Path of slow requests added to the mix (e.g. `/slow?ms=500`), so requests are in flight at SIGTERM.
   * @default undefined (fast requests only)
   */
  slowPath?: string
  /**
   * The readiness endpoint. When it answers 404 the app is taken to have
   * none and `/` is used to see that it is up.
   * @default '/readyz'
   */
  readyPath?: string
  /**
   * Whether a missing readiness endpoint, or readiness still passing when the listener closed, fails the check.
   * @default true
   */
  requireReadiness?: boolean
  /**
   * How often readiness is probed (on a fresh connection each time), as a balancer does.
   * @default 100
   */
  probeIntervalMs?: number
  /**
   * A request unanswered this long counts as hung.
   * @default 5000
   */
  requestTimeoutMs?: number
  /**
   * How long the app gets to become ready.
   * @default 10000
   */
  startupTimeoutMs?: number
  /**
   * How long the app gets to exit after SIGTERM before its process group is SIGKILLed.
   * @default 15000
   */
  exitTimeoutMs?: number
  /**
   * Check the app over cleartext HTTP/2 (h2c): readiness and probes go over HTTP/2, and `connections` streams are
   * multiplexed on one session that is used until the app sends GOAWAY. The HTTP/1.1 load runs beside it only when
   * the app also answers HTTP/1.1 on the port.
   * @default false
   */
  http2?: boolean
  /**
   * Also hold a WebSocket open on this path (`true` means `/`) and see how it is closed.
   * @default false
   */
  ws?: boolean | string
  /** Environment of the app; `PORT` is added. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Working directory of the app. @default the CLI's own */
  cwd?: string
  /** Aborting it stops the check early: the app's process group is killed. @default none */
  signal?: AbortSignal
  /** Called on every step and request outcome, for progress display. @default none */
  onProgress?: (progress: Progress) => void
}

const MAX_REQUESTS = 200_000
const sum = (counts: Record<OutcomeKind, number>): number => OUTCOME_KINDS.reduce((n, k) => n + counts[k], 0)
const PROBE_TIMEOUT_MS = 1000
const USER_AGENT = 'lastcall-check'

function assertInt(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw new LastcallOptionError(name, value, `an integer from ${min} to ${max}`)
}

function assertPath(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new LastcallOptionError(name, value, 'a path starting with "/"')
}

/**
 * Starts the app, loads it, sends SIGTERM halfway through the load and
 * classifies everything that happened. Always stops the app's process group.
 */
export async function check(options: CheckOptions): Promise<CheckResult> {
  const {
    command, connections = 8, durationMs = 4000, path = '/', slowPath, readyPath = '/readyz', requireReadiness = true, probeIntervalMs = 100,
    requestTimeoutMs = 5000, startupTimeoutMs = 10_000, exitTimeoutMs = 15_000, http2 = false, ws = false, env = process.env, cwd, onProgress, signal,
  } = options
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new LastcallOptionError('command', command, 'a non-empty list of strings (the app to run, after --)')
  }
  assertInt('connections', connections, 1, 256)
  assertInt('durationMs', durationMs, 100, 600_000)
  assertInt('probeIntervalMs', probeIntervalMs, 10, 10_000)
  assertInt('requestTimeoutMs', requestTimeoutMs, 100, 600_000)
  assertInt('startupTimeoutMs', startupTimeoutMs, 100, 600_000)
  assertInt('exitTimeoutMs', exitTimeoutMs, 100, 600_000)
  assertPath('path', path)
  assertPath('readyPath', readyPath)
  if (slowPath !== undefined) assertPath('slowPath', slowPath)
  if (typeof ws === 'string') assertPath('ws', ws)

  const t0 = performance.now()
  const now = (): number => Math.round(performance.now() - t0)
  const outcomes: RequestOutcome[] = []
  // HTTP/2 streams count in the progress line too.
  const h2Counts = tally([])
  const counts = (): Record<OutcomeKind, number> => {
    const c = tally(outcomes)
    for (const kind of OUTCOME_KINDS) c[kind] += h2Counts[kind]
    return c
  }
  const progress = (phase: Phase, note?: string): void => onProgress?.({ phase, atMs: now(), counts: counts(), ...(note ? { note } : {}) })

  const port = await freePort()
  progress('starting', `port ${port}`)
  const app: SpawnedApp = spawnApp(command, { ...env, PORT: String(port) }, cwd)
  const stopEarly = (): void => app.killGroup()
  signal?.addEventListener('abort', stopEarly, { once: true })
  if (signal?.aborted) stopEarly()
  const gone = new AbortController()
  let exitedAt: number | null = null
  void app.exited.then(() => {
    exitedAt = performance.now()
    gone.abort(new Error('the app exited'))
  })

  let readiness: Readiness | undefined
  let sigtermAt: number | null = null
  let killed = false
  let readinessFailedAt: number | null = null
  let listenerClosedAt: number | null = null
  let http2Result: Http2Result | undefined
  let wsResult: WebSocketResult | undefined
  const timers: NodeJS.Timeout[] = []
  try {
    try {
      const wait = { port, path: readyPath, timeoutMs: startupTimeoutMs, signal: gone.signal, headers: { 'user-agent': USER_AGENT } }
      readiness = http2 ? await waitForReadyHttp2(wait) : await waitForReady(wait)
    } catch (error) {
      const reason = gone.signal.aborted ? 'exited before it answered' : /SETTINGS/.test((error as Error).message) ? 'did not answer over HTTP/2' : `did not answer within ${startupTimeoutMs} ms`
      progress('exited', reason)
      return finish(null, [{ code: 'not-ready', message: `The app ${reason} on port ${port} (${(error as Error).message}).`, fix: `Make the app listen on the port in the PORT environment variable, on 127.0.0.1 or all interfaces; raise --startup-timeout if it starts slowly.${http2 ? ' With --http2 the app must serve cleartext HTTP/2 (http2.createServer); leave --http2 out for an HTTP/1.1 app.' : ''}` }])
    }
    const ready = readiness
    progress('ready', `${ready.path} answered after ${ready.ms} ms${http2 ? ' over h2c' : ''}`)
    // Node's h2c server (http2.createServer) does not speak HTTP/1.1; the HTTP/1.1 load runs only when the app does.
    const http1 = !http2 || (await send({ port, path: ready.path, timeoutMs: PROBE_TIMEOUT_MS, headers: { 'user-agent': USER_AGENT } })).status !== undefined

    // Stops new requests, as a balancer does once it sees readiness fail or a connection refused.
    const stopLoad = new AbortController()
    const exited = app.exited.then(() => stopLoad.abort())

    // The prober: a fresh connection each time, like a balancer's health check.
    let probing = true
    const probe = async (): Promise<void> => {
      if (!probing) return
      const request = { port, path: ready.path, timeoutMs: PROBE_TIMEOUT_MS, headers: { 'user-agent': USER_AGENT } }
      const o = http2 ? await sendHttp2(request) : await send(request)
      if (sigtermAt === null || !probing) return
      const at = performance.now()
      if (o.kind === 'refused') {
        if (listenerClosedAt === null) {
          listenerClosedAt = at
          progress('listener-closed', `${Math.round(at - sigtermAt)} ms after SIGTERM`)
        }
        stopLoad.abort()
      } else if (ready.endpoint && readinessFailedAt === null && (o.status === undefined || o.status < 200 || o.status >= 300)) {
        readinessFailedAt = at
        progress('not-ready', `${ready.path} answered ${o.status ?? o.code} ${Math.round(at - sigtermAt)} ms after SIGTERM`)
        stopLoad.abort()
      }
    }
    const prober = setInterval(() => void probe(), probeIntervalMs)
    timers.push(prober)

    const mix: LoadRequest[] = [{ path }, { method: 'POST', path, body: '{"lastcall":"check"}' }]
    if (slowPath !== undefined) mix.push({ path: slowPath })
    progress('loading', http2 ? `${connections} streams on one h2c session${http1 ? ` and ${connections} keep-alive connections` : ''}` : `${connections} keep-alive connections`)
    const load = !http1 ? Promise.resolve({ outcomes: [] }) : runLoad({
      port, connections, requests: mix, requestTimeoutMs, maxRequests: MAX_REQUESTS, signal: stopLoad.signal, holdOpen: exited,
      headers: { 'user-agent': USER_AGENT },
      onOutcome: (o) => {
        outcomes.push(o)
        // A refused connection after SIGTERM: the balancer takes the app out.
        if (o.kind === 'refused' && sigtermAt !== null) stopLoad.abort()
        progress('loading')
      },
    })
    const extras: Promise<void>[] = []
    let h2Load: Promise<void> = Promise.resolve()
    if (http2) {
      // The HTTP/2 client is a long-lived one (a gRPC channel): it leaves on GOAWAY or a refused connection, not on readiness.
      const appGone = new AbortController()
      void app.exited.then(() => appGone.abort())
      h2Load = runHttp2({
        port, requests: mix, streams: connections, requestTimeoutMs, signal: appGone.signal, sigtermAt: () => sigtermAt, http1, maxStreams: MAX_REQUESTS,
        headers: { 'user-agent': USER_AGENT },
        onOutcome: (o) => {
          h2Counts[o.kind]++
          progress('loading')
        },
      }).then((r) => void (http2Result = r))
    }
    if (ws !== false) extras.push(watchWebSocket({ port, path: ws === true ? '/' : ws, exited: app.exited, timeoutMs: exitTimeoutMs + requestTimeoutMs }).then((r) => void (wsResult = r)))

    // SIGTERM halfway through the load, unless the app is already gone.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.round(durationMs / 2))
      timers.push(timer)
      void app.exited.then(() => {
        clearTimeout(timer)
        resolve()
      })
    })
    if (app.running) {
      sigtermAt = performance.now()
      app.signal('SIGTERM')
      progress('sigterm')
      const bound = setTimeout(() => {
        killed = true
        progress('killed', `no exit ${exitTimeoutMs} ms after SIGTERM`)
        app.killGroup()
      }, exitTimeoutMs)
      timers.push(bound)
      // Without a readiness endpoint or a refused connection, the load still ends with the duration.
      const end = setTimeout(() => stopLoad.abort(), Math.max(0, durationMs - Math.round(durationMs / 2)))
      timers.push(end)
    } else {
      stopLoad.abort()
    }
    const result = await load
    await h2Load
    progress('load-stopped', `${result.outcomes.length} requests${http2Result ? `, ${sum(http2Result.byKind)} HTTP/2 streams` : ''}`)
    const exit = await app.exited
    probing = false
    await Promise.all(extras)
    if (!killed) progress('exited', exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`)
    return finish(exit, [])
  } finally {
    for (const timer of timers) clearTimeout(timer)
    signal?.removeEventListener('abort', stopEarly)
    app.signal('SIGKILL')
    app.killGroup()
    await app.exited
  }

  function finish(exit: AppExit | null, early: Finding[]): CheckResult {
    const after = (at: number | null): number | null => (at === null || sigtermAt === null ? null : Math.round(at - sigtermAt))
    const statuses: Record<string, number> = {}
    let rejectedWithoutRetryAfter = 0
    for (const o of outcomes) {
      if (o.status !== undefined) statuses[o.status] = (statuses[o.status] ?? 0) + 1
      if (o.kind === 'rejected' && o.retryAfter === undefined) rejectedWithoutRetryAfter++
    }
    const closedAt = listenerClosedAt ?? exitedAt
    const endpoint = readiness?.endpoint ?? false
    const result: CheckResult = {
      ok: false,
      command,
      port,
      pid: app.pid,
      startupMs: readiness ? readiness.ms : null,
      readiness: {
        path: readiness?.path ?? readyPath,
        endpoint,
        failedAfterMs: after(readinessFailedAt),
        listenerClosedAfterMs: after(closedAt),
        failedBeforeClose: !endpoint || sigtermAt === null ? null : readinessFailedAt !== null && (closedAt === null || readinessFailedAt <= closedAt),
      },
      sigtermAtMs: sigtermAt === null ? null : Math.round(sigtermAt - t0),
      exit: { code: exit?.code ?? null, signal: exit?.signal ?? null, afterMs: after(exitedAt), killed },
      requests: {
        total: outcomes.length,
        byKind: tally(outcomes),
        afterSigterm: tally(sigtermAt === null ? [] : outcomes.filter((o) => o.endedAt >= sigtermAt!)),
        statuses,
        rejectedWithoutRetryAfter,
      },
      ...(http2Result ? { http2: http2Result } : {}),
      ...(wsResult ? { ws: wsResult } : {}),
      failures: [],
      warnings: [],
      stderrTail: app.stderr.slice(-10),
      durationMs: now(),
    }
    const found = verdict(result, { requestTimeoutMs, exitTimeoutMs, requireReadiness })
    result.failures = [...early, ...found.failures]
    result.warnings = found.warnings
    result.ok = result.failures.length === 0
    progress('done', result.ok ? 'pass' : `${result.failures.length} failure(s)`)
    return result
  }
}
