import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { LastcallOptionError, type ShutdownReport } from '@lastcall/core'
import { send } from './request.js'

/** A free TCP port on 127.0.0.1: listens on port 0, reads the port, closes. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface WaitForReadyOptions {
  port: number
  /**
   * Readiness path. A 2xx answer means ready; 503 means starting (tried again);
   * 404 means the app has no such endpoint, and `fallbackPath` is used instead.
   * @default '/readyz'
   */
  path?: string
  /**
   * Tried when `path` answers 404: any answer below 500 means the app is up.
   * `false` turns the fallback off.
   * @default '/'
   */
  fallbackPath?: string | false
  /**
   * Bound on the whole wait.
   * @default 10000
   */
  timeoutMs?: number
  /** Gives up when it aborts (for example when the app exited). */
  signal?: AbortSignal
  headers?: Record<string, string>
}

export interface Readiness {
  /** The path that answered. */
  path: string
  /** Whether `path` is a readiness endpoint (it did not answer 404). */
  endpoint: boolean
  /** Milliseconds until the app answered. */
  ms: number
}

const FIRST_RETRY_MS = 10
const MAX_RETRY_MS = 200

/**
 * Waits until the app on `port` answers. There is no event for "another
 * process started listening", so this retries, each retry driven by the
 * previous attempt's error (refused, or 503 while starting), with a backoff
 * from 10 ms to 200 ms and bounded by `timeoutMs`.
 */
export async function waitForReady(options: WaitForReadyOptions): Promise<Readiness> {
  const { port, path = '/readyz', fallbackPath = '/', timeoutMs = 10_000, signal, headers } = options
  const t0 = performance.now()
  let current = path
  let endpoint = true
  let wait = FIRST_RETRY_MS
  let last = 'no attempt'
  while (performance.now() - t0 < timeoutMs) {
    signal?.throwIfAborted()
    const left = Math.max(1, timeoutMs - (performance.now() - t0))
    const outcome = await send({ port, path: current, timeoutMs: Math.min(left, 2000), ...(headers ? { headers } : {}) })
    const status = outcome.status
    if (status !== undefined) {
      if (endpoint && status === 404 && fallbackPath !== false && current !== fallbackPath) {
        current = fallbackPath
        endpoint = false
        continue
      }
      if (endpoint ? status >= 200 && status < 300 : status < 500) return { path: current, endpoint, ms: Math.round(performance.now() - t0) }
      last = `${current} answered ${status}`
    } else {
      last = `${current}: ${outcome.code}`
    }
    await abortableDelay(Math.min(wait, Math.max(1, timeoutMs - (performance.now() - t0))), signal)
    wait = Math.min(wait * 2, MAX_RETRY_MS)
  }
  throw new Error(`app on port ${port} not ready within ${timeoutMs} ms (last: ${last})`)
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort(): void {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

export interface StartAppOptions {
  /** The command and its arguments, run without a shell: `['node', 'server.js']`. */
  command: readonly string[]
  /** Environment of the app; `PORT` is added. @default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** Working directory of the app. @default the test's own */
  cwd?: string
  /** See `WaitForReadyOptions.path`. @default '/readyz' */
  readyPath?: string
  /** See `WaitForReadyOptions.timeoutMs`. @default 10000 */
  startupTimeoutMs?: number
}

export interface AppExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ChildApp {
  readonly pid: number
  readonly port: number
  readonly readiness: Readiness
  /** Every line the app printed on stdout so far. */
  readonly stdout: readonly string[]
  /** Every line the app printed on stderr so far. */
  readonly stderr: readonly string[]
  /** Resolves when the process has exited. */
  readonly exited: Promise<AppExit>
  /** The last lastcall report the app printed as a JSON line on stdout (see `parseReport`). */
  report(): ShutdownReport | undefined
  /** Sends a signal to the app. */
  signal(signal?: NodeJS.Signals): void
  /** Stops the app: `signal` (SIGTERM), then SIGKILL if it has not exited after `graceMs`. Resolves with its exit. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<AppExit & { killed: boolean }>
}

/**
 * Starts an app as a child process with `PORT` set to a free port and waits
 * until it answers (see `waitForReady`). Call `stop()` when done, in a
 * `finally` or `afterEach`.
 */
export async function startApp(options: StartAppOptions): Promise<ChildApp> {
  const { command, env = process.env, cwd, readyPath = '/readyz', startupTimeoutMs = 10_000 } = options
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string')) {
    throw new LastcallOptionError('command', command, 'a non-empty array of strings, e.g. [\'node\', \'server.js\']')
  }
  const port = await freePort()
  const child = spawn(command[0]!, command.slice(1), { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) })
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line))
  const exited = exitOf(child)
  const gone = new AbortController()
  exited.then(({ code, signal }) => gone.abort(new Error(`app exited before it was ready (code ${code}, signal ${signal}); stderr: ${stderr.slice(-5).join(' | ')}`)), () => {})
  const app: ChildApp = {
    pid: child.pid!,
    port,
    readiness: { path: readyPath, endpoint: false, ms: 0 },
    stdout,
    stderr,
    exited,
    report: () => parseReport(stdout),
    signal: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    stop: async ({ signal = 'SIGTERM', graceMs = 5000 } = {}) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const killed = await boundedExit(child, exited, graceMs)
      return { ...(await exited), killed }
    },
  }
  try {
    ;(app as { readiness: Readiness }).readiness = await waitForReady({ port, path: readyPath, timeoutMs: startupTimeoutMs, signal: gone.signal })
  } catch (error) {
    await app.stop({ signal: 'SIGKILL', graceMs: 1000 })
    throw error
  }
  return app
}

function exitOf(child: ChildProcess): Promise<AppExit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** Waits for the exit up to `graceMs`, then SIGKILLs. Resolves true when it had to kill. */
async function boundedExit(child: ChildProcess, exited: Promise<AppExit>, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)))
  const first = await Promise.race([exited, late])
  clearTimeout(timer)
  if (first !== 'late') return false
  child.kill('SIGKILL')
  await exited
  return true
}

/**
 * Finds the last lastcall report among lines an app printed: a line that is
 * a JSON object with `trigger`, `timeline` and `exitCode` (what
 * `JSON.stringify(report)` prints), or `{ "report": <that> }`.
 */
export function parseReport(lines: readonly string[]): ShutdownReport | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim()
    if (!line.startsWith('{')) continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      continue
    }
    if (isReport(value)) return value
    const inner = (value as { report?: unknown }).report
    if (isReport(inner)) return inner
  }
  return undefined
}

function isReport(value: unknown): value is ShutdownReport {
  const v = value as Partial<ShutdownReport> | null
  return typeof v === 'object' && v !== null && typeof v.exitCode === 'number' && Array.isArray(v.timeline) && typeof v.trigger === 'object'
}
