/**
 * The only module that touches `process`: signal and process-manager
 * listeners, `process.exit`, `process.send` and the environment. Everything
 * else receives these through a `ProcessHost`, so it can be tested in-process.
 *
 * There is one coordinator per process (signals are process-wide): when a
 * signal arrives it starts every registered controller that listens for it,
 * waits for all of them, and exits once, with the highest exit code. Two
 * controllers never race each other to `process.exit`.
 */

import { execFile } from 'node:child_process'
import cluster, { type Worker } from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
import { LastcallError, LastcallOptionError } from './errors.js'
import { isLogger, toLog, type Log, type Logger } from './logger.js'
import type { PlatformFacts } from './platform.js'
import { assertDuration, assertKnownKeys } from './validate.js'

export type Trigger =
  | { type: 'signal'; signal: NodeJS.Signals }
  | { type: 'message'; message: string }
  | { type: 'manual'; reason: string }
  | { type: 'error'; reason: string }

export interface Participant {
  readonly signals: readonly NodeJS.Signals[]
  /** Whether this participant wants the process to exit when it is done. */
  readonly exitsProcess: boolean
  /** Starts the participant's shutdown; resolves with its exit code. */
  trigger(trigger: Trigger): Promise<number>
  /** A second signal arrived: the participant gives up at once. */
  abandon(signal: NodeJS.Signals, code: number): void
  /** Signals the platform sends twice for one stop (nodemon): a repeat during the shutdown is ignored, not taken as a second signal. */
  readonly repeatedSignals?: readonly NodeJS.Signals[]
  /**
   * Set when the participant handles `uncaughtException` / `unhandledRejection`
   * (`onCrash: 'shutdown'`): called with the error before its shutdown starts.
   */
  readonly crashed?: ((kind: CrashKind, error: unknown) => void) | undefined
}

export type CrashKind = 'uncaughtException' | 'unhandledRejection'

export interface ProcessHost {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly platform: NodeJS.Platform
  /** This process's pid: `LISTEN_PID` names the process that inherited sockets are meant for. */
  readonly pid: number
  /** The running Node version (`process.versions.node`), for features that need a newer one (`reusePort`). */
  readonly nodeVersion: string
  register(participant: Participant): () => void
  /** The participant finished; exits the process once every running participant that wants exit has finished. */
  finished(participant: Participant, code: number): void
  /** A participant started shutting down on its own (a `shutdown()` call): a signal now counts as the second one. */
  started(participant: Participant): void
  /**
   * Tells a process manager that the service is ready: PM2 (`wait_ready`)
   * through IPC, systemd (`Type=notify`) through `systemd-notify READY=1`
   * when `NOTIFY_SOCKET` is set. Failures go to `log` at warn, never thrown.
   */
  notifyReady(log?: Log): void
  /** Tells systemd (when `NOTIFY_SOCKET` is set) that the service is stopping: `systemd-notify STOPPING=1`. */
  notifyStopping(log?: Log): void
  /** What the process can see of its platform (cluster worker, container traces, the processes that started it); read once. */
  facts(): PlatformFacts
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGBREAK: 21 }

/** How long a `systemd-notify` call may take before it is killed and reported. */
const NOTIFY_TIMEOUT_MS = 5000

/** 128 + the signal's number, what a shell reports for a process killed by it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15)
}

class ProcessCoordinator implements ProcessHost {
  readonly env = process.env
  readonly platform = process.platform
  readonly pid = process.pid
  readonly nodeVersion = process.versions.node
  readonly #participants = new Set<Participant>()
  readonly #running = new Map<Participant, number | undefined>()
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>()
  #messageHandler: ((message: unknown) => void) | undefined
  #crashHandlers: { exception: (error: unknown) => void; rejection: (reason: unknown) => void } | undefined
  /** An uncaught error was handled: the process exits non-zero once the shutdowns it started are over. */
  #crashed = false
  #exitCode = 0
  #facts: PlatformFacts | undefined

  facts(): PlatformFacts {
    this.#facts ??= {
      clusterWorker: cluster.isWorker,
      files: { dockerenv: existsSync('/.dockerenv'), containerenv: existsSync('/run/.containerenv') },
      cgroup: [readText('/proc/self/cgroup'), readText('/proc/1/cgroup')].filter((t) => t !== undefined).join('\n') || undefined,
      mountinfo: readText('/proc/self/mountinfo'),
      ancestors: ancestors(process.ppid, 2),
    }
    return this.#facts
  }

  register(participant: Participant): () => void {
    this.#participants.add(participant)
    for (const signal of participant.signals) this.#listen(signal)
    const managed = this.env.pm_id !== undefined || cluster.isWorker
    if (participant.signals.length > 0 && managed && typeof process.send === 'function') this.#listenToManager()
    if (participant.crashed) this.#listenToCrashes()
    return () => {
      this.#participants.delete(participant)
      this.#refresh()
    }
  }

  finished(participant: Participant, code: number): void {
    this.#exitCode = Math.max(this.#exitCode, code)
    if (participant.exitsProcess) this.#running.set(participant, code)
    else this.#running.delete(participant)
    for (const [p, done] of this.#running) if ((p.exitsProcess || this.#crashed) && done === undefined) return
    // After an uncaught error the process is in an unknown state: it exits whatever `exit` says.
    if (this.#crashed) process.exit(this.#exitCode)
    for (const p of this.#running.keys()) {
      if (p.exitsProcess) {
        process.exit(this.#exitCode)
      }
    }
  }

  /** Programmatic shutdowns join the process-wide bookkeeping too. */
  started(participant: Participant): void {
    if (!this.#running.has(participant)) this.#running.set(participant, undefined)
  }

  notifyReady(log?: Log): void {
    if (this.env.pm_id !== undefined && typeof process.send === 'function') process.send('ready')
    this.#notifySystemd('READY=1', log)
  }

  notifyStopping(log?: Log): void {
    this.#notifySystemd('STOPPING=1', log)
  }

  /**
   * Node's `dgram` cannot open the unix datagram socket systemd listens on,
   * so the message goes through the `systemd-notify` command (the unit needs
   * `NotifyAccess=all`, since the sender is that command's process). No shell.
   */
  #notifySystemd(message: string, log: Log | undefined): void {
    if (!this.env.NOTIFY_SOCKET) return
    try {
      execFile('systemd-notify', [message], { timeout: NOTIFY_TIMEOUT_MS }, (error, _stdout, stderr) => {
        if (error) log?.('warn', `systemd-notify ${message} failed: ${error.message.trim()}`, { stderr: stderr.trim() || undefined })
      })
    } catch (error) {
      log?.('warn', `systemd-notify ${message} could not run: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  #start(trigger: Trigger, filter: (p: Participant) => boolean): void {
    for (const p of this.#participants) {
      if (!filter(p) || this.#running.has(p)) continue
      this.#running.set(p, undefined)
      p.trigger(trigger).catch(() => this.finished(p, 1))
    }
  }

  #onSignal(signal: NodeJS.Signals): void {
    const waiting = [...this.#running].filter(([, code]) => code === undefined)
    // nodemon sends its restart signal twice, a few ms apart: that is one restart, not an operator's second signal.
    if (waiting.length > 0 && waiting.every(([p]) => p.repeatedSignals?.includes(signal))) return
    if (waiting.length > 0) {
      // Second signal while shutting down: the operator wants out now.
      const code = signalExitCode(signal)
      for (const [p] of waiting) p.abandon(signal, code)
      if (waiting.some(([p]) => p.exitsProcess)) process.exit(code)
      return
    }
    this.#start({ type: 'signal', signal }, (p) => p.signals.includes(signal))
  }

  #listen(signal: NodeJS.Signals): void {
    if (this.#signalHandlers.has(signal)) return
    const handler = (): void => this.#onSignal(signal)
    this.#signalHandlers.set(signal, handler)
    process.on(signal, handler)
  }

  #listenToManager(): void {
    if (this.#messageHandler) return
    // PM2 sends 'shutdown' instead of a signal when `shutdown_with_message` is set (and always on Windows);
    // `clusterPrimary()` sends the same to its workers.
    this.#messageHandler = (message: unknown) => {
      if (message !== SHUTDOWN_MESSAGE) return
      if ([...this.#running.values()].some((code) => code === undefined)) return
      this.#start({ type: 'message', message: 'shutdown' }, (p) => p.signals.length > 0)
    }
    process.on('message', this.#messageHandler)
    // A 'message' listener keeps a forked child alive; it must not. Except in
    // a cluster worker (PM2's cluster mode included): there the channel is
    // what keeps it alive while `listen()` waits for the primary's handle.
    const channel = (process as { channel?: { unref?: () => void } }).channel
    if (!cluster.isWorker) channel?.unref?.()
  }

  #onCrash(kind: CrashKind, error: unknown): void {
    const handlers = [...this.#participants].filter((p) => p.crashed)
    const first = !this.#crashed
    this.#crashed = true
    this.#exitCode = Math.max(this.#exitCode, 1)
    for (const p of handlers) p.crashed?.(kind, error)
    if (!first) return
    const message = error instanceof Error ? error.message : String(error)
    this.#start({ type: 'error', reason: `${kind}: ${message}` }, (p) => p.crashed !== undefined)
    // Nothing left to drain (every shutdown already over): exit now.
    if (![...this.#running.values()].some((code) => code === undefined)) process.exit(this.#exitCode)
  }

  #listenToCrashes(): void {
    if (this.#crashHandlers) return
    this.#crashHandlers = {
      exception: (error) => this.#onCrash('uncaughtException', error),
      rejection: (reason) => this.#onCrash('unhandledRejection', reason),
    }
    process.on('uncaughtException', this.#crashHandlers.exception)
    process.on('unhandledRejection', this.#crashHandlers.rejection)
  }

  #refresh(): void {
    const wanted = new Set<NodeJS.Signals>()
    for (const p of this.#participants) for (const s of p.signals) wanted.add(s)
    for (const [signal, handler] of this.#signalHandlers) {
      if (wanted.has(signal)) continue
      process.removeListener(signal, handler)
      this.#signalHandlers.delete(signal)
    }
    if (this.#messageHandler && ![...this.#participants].some((p) => p.signals.length > 0)) {
      process.removeListener('message', this.#messageHandler)
      this.#messageHandler = undefined
    }
    if (this.#crashHandlers && ![...this.#participants].some((p) => p.crashed)) {
      process.removeListener('uncaughtException', this.#crashHandlers.exception)
      process.removeListener('unhandledRejection', this.#crashHandlers.rejection)
      this.#crashHandlers = undefined
    }
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** The argument vectors of `pid` and its parents, `depth` of them at most, from /proc (Linux; empty elsewhere). */
function ancestors(pid: number, depth: number): string[][] {
  const out: string[][] = []
  for (let i = 0; i < depth && pid > 1; i++) {
    const argv = readText(`/proc/${pid}/cmdline`)?.split('\0').filter((a) => a !== '')
    if (argv === undefined) break
    out.push(argv)
    // stat is "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readText(`/proc/${pid}/stat`)
    pid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (!Number.isInteger(pid)) break
  }
  return out
}

let coordinator: ProcessCoordinator | undefined

/** The process-wide host. Created on first use, so importing lastcall installs nothing. */
export function processHost(): ProcessHost {
  coordinator ??= new ProcessCoordinator()
  return coordinator
}

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

export interface ClusterPrimary {
  /** Whether the shutdown has started: do not fork replacement workers then. */
  readonly isShuttingDown: boolean
  /** Starts the shutdown (as the signal would); resolves when the last worker has exited. */
  shutdown(): Promise<ClusterShutdownResult>
  /** Removes the signal listeners. */
  dispose(): void
}

const CLUSTER_KEYS = new Set(['signals', 'notifyWorkers', 'timeoutMs', 'exit', 'logger'])

/** The IPC message that starts a worker's shutdown (PM2 sends the same with `shutdown_with_message`). */
export const SHUTDOWN_MESSAGE = 'shutdown'

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
  const signals = options.signals === undefined ? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[]) : assertSignalList('signals', options.signals)
  const notify = options.notifyWorkers === undefined || options.notifyWorkers === 'message' ? 'message' : assertSignalList('notifyWorkers', [options.notifyWorkers])[0]!
  const timeoutMs = options.timeoutMs ?? 30_000
  assertDuration('timeoutMs', timeoutMs, { allowZero: false })
  const exit = options.exit ?? true
  if (typeof exit !== 'boolean' && typeof exit !== 'function') throw new LastcallOptionError('exit', exit, 'true, false or a function (code) => void')
  if (options.logger !== undefined && options.logger !== false && !isLogger(options.logger)) {
    throw new LastcallOptionError('logger', options.logger, 'false or an object with info, warn and error methods (pino, console)')
  }
  const log = toLog(options.logger, console)

  let running: Promise<ClusterShutdownResult> | undefined
  const handlers = new Map<NodeJS.Signals, () => void>()

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
        if (notify === 'message') {
          // A worker whose channel already closed cannot hear it; the timeout still bounds it.
          if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE)
        } else worker.process.kill(notify)
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

  for (const signal of signals) {
    const handler = (): void => {
      if (running) {
        // Second signal: the workers' controllers treat it as "exit now".
        log('error', `second ${signal} during cluster shutdown: passing it on to the workers`)
        for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill(signal)
        return
      }
      void start(signal)
    }
    handlers.set(signal, handler)
    process.on(signal, handler)
  }

  return {
    get isShuttingDown() {
      return running !== undefined
    },
    shutdown: () => start('shutdown() called'),
    dispose: () => {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler)
      handlers.clear()
    },
  }
}

function assertSignalList(option: string, value: unknown): NodeJS.Signals[] {
  const ok = Array.isArray(value) && value.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s) && s !== 'SIGKILL' && s !== 'SIGSTOP')
  if (!ok) throw new LastcallOptionError(option, value, 'catchable signal names such as "SIGTERM"')
  return value as NodeJS.Signals[]
}
