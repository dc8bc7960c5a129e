/**
 * The helper for the primary of a `node:cluster` app: it owns the primary's
 * signals and exit (this folder is the only code touching `process`, and the
 * before-stop check wants every such file's path to say "signal").
 */
import cluster, { type Worker } from 'node:cluster'
import { LastcallError, LastcallOptionError } from '../errors.js'
import { isLogger, toLog, type Logger } from '../logger.js'
import { assertDuration, assertKnownKeys, assertStopSignal, assertStopSignals } from '../validate.js'
import { SAME_SIGNAL_WINDOW_MS, SECOND_SIGNAL_MESSAGE, SHUTDOWN_MESSAGE } from './signals.js'

export interface ClusterPrimaryOptions {
  /**
   * Signals that start the shutdown of every worker. A second one during the
   * shutdown is passed on to the workers, whose own controllers then exit at once.
   * @default ['SIGTERM', 'SIGINT']
   */
  signals?: readonly string[]
  /**
   * How each worker is told to shut down. `'message'`: the IPC message
   * `'shutdown'`, which a worker's lastcall controller starts on unless it is
   * already shutting down; so when a terminal's Ctrl-C or systemd's
   * `KillMode=control-group` also signals the workers themselves, nobody
   * sees a second signal and gives up. A signal name (`'SIGTERM'`): for
   * workers that do not run lastcall.
   * @default 'message'
   */
  notifyWorkers?: string
  /**
   * Bound on the whole shutdown. Workers still alive then are killed with
   * SIGKILL and the primary exits 1. Keep it above the workers' own `timeoutMs`.
   * @default 30000
   */
  timeoutMs?: number
  /**
   * `true` exits the primary with the result's exit code; `false` leaves it
   * alone; a function is called with the code.
   * @default true
   */
  exit?: boolean | ((code: number) => void)
  /**
   * Where the primary's shutdown is logged. `false` silences it.
   * @default console
   */
  logger?: Logger | false
  /**
   * Signals that start a rolling restart (`restart()`): `['SIGHUP']` is the
   * usual choice. Off by default, since a terminal's hangup would otherwise
   * restart the workers instead of ending the primary.
   * @default []
   */
  restartSignals?: readonly string[]
  /**
   * How `restart()` starts a replacement worker.
   * @default () => cluster.fork()
   */
  fork?: () => Worker
  /**
   * How long `restart()` waits for a replacement to listen before it gives
   * up: the replacement is killed, the old worker keeps serving, and the
   * restart stops there.
   * @default 30000
   */
  startTimeoutMs?: number
}

export interface ClusterWorkerResult {
  id: number
  pid: number | undefined
  /** Exit code, or null when the worker was killed by a signal. */
  code: number | null
  signal: string | null
  /** Exited with code 0. */
  ok: boolean
}

export interface ClusterShutdownResult {
  workers: ClusterWorkerResult[]
  /** `timeoutMs` fired and remaining workers were killed. */
  timedOut: boolean
  /** 0 when every worker exited with 0 in time, 1 otherwise. */
  exitCode: number
}

export interface ClusterRestartResult {
  /** Each old worker replaced, in order, with how its shutdown ended. */
  replaced: Array<{ old: ClusterWorkerResult; replacement: { id: number; pid: number | undefined } }>
  /** Every worker was replaced and every old one exited with 0. */
  ok: boolean
  /** Why the restart stopped early, when it did. */
  error?: string
}

export interface ClusterPrimary {
  /** Whether the shutdown has started: do not fork replacement workers then. */
  readonly isShuttingDown: boolean
  /**
   * Whether this primary told `worker` to leave (its shutdown, or a rolling
   * restart that already started its replacement). In a `cluster.on('exit')`
   * handler that forks replacements: fork only when this is false.
   */
  isRetired(worker: Worker): boolean
  /**
   * Rolling restart: for each worker alive now, one after another, forks a
   * replacement, waits until it listens, then tells the old one to shut down
   * (as `notifyWorkers` says) and waits for it to exit. The workers' own
   * controllers drain them; the other workers keep serving meanwhile, so no
   * request is lost. Resolves when the last old worker has exited; calling
   * it during a restart returns the same promise.
   */
  restart(): Promise<ClusterRestartResult>
  /** Starts the shutdown (as the signal would); resolves when the last worker has exited. */
  shutdown(): Promise<ClusterShutdownResult>
  /** Removes the signal listeners. */
  dispose(): void
}

const CLUSTER_KEYS = new Set(['signals', 'notifyWorkers', 'timeoutMs', 'exit', 'logger', 'restartSignals', 'fork', 'startTimeoutMs'])

/**
 * For the primary of a `node:cluster` app: on its signal, tells every worker
 * to shut down (see `notifyWorkers`; each drains with its own controller),
 * waits until the last worker has exited, and exits non-zero if any worker
 * failed or `timeoutMs` fired. Not `worker.disconnect()`: a disconnect
 * closes the workers' servers at once, idle keep-alive connections included.
 */
export function clusterPrimary(options: ClusterPrimaryOptions = {}): ClusterPrimary {
  if (typeof options !== 'object' || options === null) throw new LastcallOptionError('options', options, 'an object or undefined')
  assertKnownKeys('', options, CLUSTER_KEYS)
  if (!cluster.isPrimary) throw new LastcallError('LASTCALL_INVALID_STATE', 'lastcall: clusterPrimary() runs in the cluster primary; workers use createShutdown()')
  const signals = options.signals === undefined ? (['SIGTERM', 'SIGINT'] as const) : assertStopSignals('signals', options.signals)
  let notify: NodeJS.Signals | 'message' = 'message'
  if (options.notifyWorkers !== undefined && options.notifyWorkers !== 'message') {
    assertStopSignal('notifyWorkers', options.notifyWorkers)
    notify = options.notifyWorkers
  }
  const timeoutMs = options.timeoutMs ?? 30_000
  assertDuration('timeoutMs', timeoutMs, { allowZero: false })
  const exit = options.exit ?? true
  if (typeof exit !== 'boolean' && typeof exit !== 'function') throw new LastcallOptionError('exit', exit, 'true, false or a function (code) => void')
  if (options.logger !== undefined && options.logger !== false && !isLogger(options.logger)) {
    throw new LastcallOptionError('logger', options.logger, 'false or an object with info, warn and error methods (pino, console)')
  }
  const log = toLog(options.logger, console)
  const restartSignals = options.restartSignals === undefined ? [] : assertStopSignals('restartSignals', options.restartSignals)
  if (restartSignals.some((s) => signals.includes(s))) throw new LastcallOptionError('restartSignals', restartSignals, 'signals not also in signals (those shut the cluster down)')
  const fork = options.fork ?? (() => cluster.fork())
  if (typeof fork !== 'function') throw new LastcallOptionError('fork', fork, 'a function that returns a cluster Worker')
  const startTimeoutMs = options.startTimeoutMs ?? 30_000
  assertDuration('startTimeoutMs', startTimeoutMs, { allowZero: false })

  let running: Promise<ClusterShutdownResult> | undefined
  let restarting: Promise<ClusterRestartResult> | undefined
  const retired = new WeakSet<Worker>()
  const handlers = new Map<NodeJS.Signals, () => void>()
  const tell = (worker: Worker): void => {
    retired.add(worker)
    if (notify === 'message') {
      // A worker whose channel already closed cannot hear it; the timeout still bounds it.
      if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE)
    } else worker.process.kill(notify)
  }
  const exitOf = (worker: Worker): Promise<ClusterWorkerResult> =>
    new Promise((resolve) => {
      const result = (code: number | null, signal: string | null): ClusterWorkerResult => ({ id: worker.id, pid: worker.process.pid, code, signal, ok: code === 0 })
      if (worker.isDead()) resolve(result(worker.process.exitCode, worker.process.signalCode))
      else worker.once('exit', (code, signal) => resolve(result(code, signal)))
    })

  const rollingRestart = async (): Promise<ClusterRestartResult> => {
    const old = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead() && !retired.has(w))
    log('info', `rolling restart of ${old.length} workers`, { workers: old.map((w) => w.process.pid) })
    const replaced: ClusterRestartResult['replaced'] = []
    for (const worker of old) {
      if (running) return { replaced, ok: false, error: 'the shutdown started during the restart' }
      const replacement = fork()
      const started = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(`the replacement did not listen within startTimeoutMs (${startTimeoutMs} ms)`), startTimeoutMs)
        const done = (error: string | undefined): void => {
          clearTimeout(timer)
          replacement.off('listening', onListening)
          replacement.off('exit', onExit)
          resolve(error)
        }
        const onListening = (): void => done(undefined)
        const onExit = (code: number | null, signal: string | null): void => done(`the replacement exited with ${code ?? signal} before listening`)
        replacement.once('listening', onListening)
        replacement.once('exit', onExit)
      })
      if (started !== undefined) {
        log('error', `rolling restart stopped: ${started}; worker ${worker.id} keeps serving`)
        retired.add(replacement)
        if (!replacement.isDead()) replacement.process.kill('SIGKILL')
        return { replaced, ok: false, error: started }
      }
      tell(worker)
      const exited = await exitOf(worker)
      if (!exited.ok) log('warn', `worker ${worker.id} (pid ${worker.process.pid}) exited with ${exited.code ?? exited.signal} during the rolling restart`)
      replaced.push({ old: exited, replacement: { id: replacement.id, pid: replacement.process.pid } })
    }
    const ok = replaced.every((r) => r.old.ok)
    log(ok ? 'info' : 'warn', `rolling restart done: ${replaced.length} workers replaced`)
    return { replaced, ok }
  }
  const restart = (): Promise<ClusterRestartResult> => {
    if (running) return Promise.resolve({ replaced: [], ok: false, error: 'the cluster is shutting down' })
    restarting ??= rollingRestart().finally(() => (restarting = undefined))
    return restarting
  }

  const run = (reason: string): Promise<ClusterShutdownResult> => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())
    log('info', `cluster shutdown started by ${reason}: sending ${notify === 'message' ? `"${SHUTDOWN_MESSAGE}"` : notify} to ${workers.length} workers`, { workers: workers.map((w) => w.process.pid) })
    const results: ClusterWorkerResult[] = []
    return new Promise<ClusterShutdownResult>((resolve) => {
      let left = workers.length
      let timedOut = false
      const done = (): void => {
        clearTimeout(timer)
        const exitCode = timedOut || results.some((r) => !r.ok) ? 1 : 0
        log(exitCode === 0 ? 'info' : 'warn', `cluster shutdown finished with exit code ${exitCode}`, { workers: results, timedOut })
        resolve({ workers: results, timedOut, exitCode })
      }
      const timer = setTimeout(() => {
        timedOut = true
        const alive = workers.filter((w) => !w.isDead())
        log('error', `cluster shutdown did not finish within timeoutMs (${timeoutMs} ms); killing ${alive.length} workers`, { workers: alive.map((w) => w.process.pid) })
        for (const w of alive) w.process.kill('SIGKILL')
      }, timeoutMs)
      for (const worker of workers) {
        worker.once('exit', (code, signal) => {
          results.push({ id: worker.id, pid: worker.process.pid, code, signal, ok: code === 0 })
          if (code !== 0) log('warn', `worker ${worker.id} (pid ${worker.process.pid}) exited with ${code ?? signal}`)
          if (--left === 0) done()
        })
        tell(worker)
      }
      if (left === 0) done()
    })
  }

  const start = (reason: string): Promise<ClusterShutdownResult> => {
    running ??= run(reason).then((result) => {
      if (typeof exit === 'function') exit(result.exitCode)
      else if (exit) process.exit(result.exitCode)
      return result
    })
    return running
  }

  /** When each signal first arrived: the same one again within `SAME_SIGNAL_WINDOW_MS` is one delivery, as in the workers. */
  const received = new Map<NodeJS.Signals, number>()
  for (const signal of signals) {
    const handler = (): void => {
      const now = performance.now()
      const firstAt = received.get(signal)
      if (firstAt !== undefined && now - firstAt < SAME_SIGNAL_WINDOW_MS) return
      if (running) {
        // Second signal: the workers' controllers treat it as "exit now". A message, since a signal
        // could be one the workers are receiving from their supervisor anyway.
        log('error', `second ${signal} during cluster shutdown: passing it on to the workers`)
        for (const w of Object.values(cluster.workers ?? {})) {
          if (!w || w.isDead()) continue
          if (notify === 'message' && w.isConnected()) w.send({ type: SECOND_SIGNAL_MESSAGE, signal })
          else w.process.kill(signal)
        }
        return
      }
      received.set(signal, now)
      void start(signal)
    }
    handlers.set(signal, handler)
    process.on(signal, handler)
  }
  for (const signal of restartSignals) {
    const handler = (): void => {
      log('info', `${signal}: rolling restart`)
      void restart()
    }
    handlers.set(signal, handler)
    process.on(signal, handler)
  }

  return {
    get isShuttingDown() {
      return running !== undefined
    },
    isRetired: (worker) => running !== undefined || retired.has(worker),
    restart,
    shutdown: () => start('shutdown() called'),
    dispose: () => {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler)
      handlers.clear()
    },
  }
}
