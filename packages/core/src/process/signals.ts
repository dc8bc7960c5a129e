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

import cluster from 'node:cluster'
import { constants } from 'node:os'
import type { Log } from '../logger.js'
import type { PlatformFacts } from '../platform.js'
import { readFacts } from './facts.js'
import { notifySystemd } from './systemdNotify.js'
import { STOP_SIGNALS } from '../validate.js'

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
  /** A second signal arrived: the participant gives up at once (its report says so) before the process exits with `code`. */
  abandon(signal: NodeJS.Signals, code: number): void
  /** Signals the platform sends twice for one stop (nodemon): a repeat during the shutdown is ignored, not taken as a second signal. */
  readonly repeatedSignals?: readonly NodeJS.Signals[]
  /**
   * A signal arrived while this participant's shutdown was already running
   * and it does not force an exit: `'joined'` when it is the first signal of
   * this shutdown (one started by `shutdown()`, a message or a crash),
   * `'duplicate'` when the same signal came again within `SAME_SIGNAL_WINDOW_MS`.
   */
  signalled?(signal: NodeJS.Signals, as: 'joined' | 'duplicate'): void
  /** Where the participant is, for the trace printed when the process exits in the middle of its shutdown. */
  status?(): { state: string; hooks: readonly string[] }
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
  /** A participant started shutting down on its own (a `shutdown()` call). A signal arriving now is its first signal, not a second one. */
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
  /** Writes one line to standard error: where lastcall reports what the logger could not (a logger that throws, a listener that throws). Never throws. */
  stderr(line: string): void
}

/**
 * What the coordinator needs of `process`; tests hand in their own to drive
 * signals and see exits in-process.
 */
export interface ProcessLike {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly platform: NodeJS.Platform
  readonly pid: number
  readonly nodeVersion: string
  exitCode?: number | string | null | undefined
  on(event: string, listener: (...args: any[]) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  /** Exits; in a real process it never returns. */
  exit(code: number): void
  /** Milliseconds from an arbitrary origin, to tell a duplicate delivery of a signal from a second one. */
  now(): number
  stderr(line: string): void
  /** The platform traces (see `ProcessHost.facts`); left out, the real ones are read. */
  facts?(): PlatformFacts
}

/**
 * The same signal again within this window is the same request to stop
 * delivered twice (a supervisor and the process group both signalling, a
 * wrapper forwarding what the terminal already sent), not an operator's
 * second signal.
 */
export const SAME_SIGNAL_WINDOW_MS = 100

/** SIGBREAK exists only on Windows, where `os.constants.signals` lists it. */
const SIGBREAK_NUMBER = 21

/** 128 + the signal's number on this platform, what a shell reports for a process killed by it (SIGUSR1 is 10 on Linux, 30 on macOS). */
export function signalExitCode(signal: NodeJS.Signals): number {
  const number = (constants.signals as Record<string, number | undefined>)[signal] ?? (signal === 'SIGBREAK' ? SIGBREAK_NUMBER : constants.signals.SIGTERM)
  return 128 + number
}

const realProcess: ProcessLike = {
  get env() {
    return process.env
  },
  get platform() {
    return process.platform
  },
  get pid() {
    return process.pid
  },
  get nodeVersion() {
    return process.versions.node
  },
  get exitCode() {
    return process.exitCode
  },
  set exitCode(code) {
    process.exitCode = code
  },
  on: (event, listener) => process.on(event, listener),
  removeListener: (event, listener) => process.removeListener(event, listener),
  exit: (code) => process.exit(code),
  now: () => performance.now(),
  stderr(line) {
    try {
      process.stderr.write(`${line}\n`)
    } catch {
      // Standard error is gone too: nowhere is left to say it.
    }
  },
}

export class ProcessCoordinator implements ProcessHost {
  readonly #proc: ProcessLike
  readonly #participants = new Set<Participant>()
  readonly #running = new Map<Participant, number | undefined>()
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>()
  /** Signals received during the shutdown now running, with when each first arrived. */
  readonly #received = new Map<NodeJS.Signals, number>()
  #messageHandler: ((message: unknown) => void) | undefined
  #crashHandlers: { exception: (error: unknown) => void; rejection: (reason: unknown) => void } | undefined
  #exitHandler: ((code: number) => void) | undefined
  /** The coordinator itself is exiting the process: no trace to print. */
  #exiting = false
  /** An uncaught error was handled: the process exits non-zero once the shutdowns it started are over. */
  #crashed = false
  #exitCode = 0
  #facts: PlatformFacts | undefined

  facts(): PlatformFacts {
    this.#facts ??= this.#proc.facts?.() ?? readFacts()
    return this.#facts
  }

  constructor(proc: ProcessLike = realProcess) {
    this.#proc = proc
  }

  get env(): Readonly<Record<string, string | undefined>> {
    return this.#proc.env
  }

  get platform(): NodeJS.Platform {
    return this.#proc.platform
  }

  get pid(): number {
    return this.#proc.pid
  }

  get nodeVersion(): string {
    return this.#proc.nodeVersion
  }

  stderr(line: string): void {
    this.#proc.stderr(line)
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
    this.#settle(participant, code)
    for (const [p, done] of this.#running) if ((p.exitsProcess || this.#crashed) && done === undefined) return
    // After an uncaught error the process is in an unknown state: it exits whatever `exit` says.
    if (this.#crashed) this.#exit(this.#exitCode)
    for (const p of this.#running.keys()) {
      if (p.exitsProcess) this.#exit(this.#exitCode)
    }
  }

  /** Programmatic shutdowns join the process-wide bookkeeping too. */
  started(participant: Participant): void {
    if (!this.#running.has(participant)) this.#markRunning(participant)
  }

  notifyReady(log?: Log): void {
    if (this.env.pm_id !== undefined && typeof process.send === 'function') process.send('ready')
    notifySystemd(this.env, 'READY=1', log)
  }

  notifyStopping(log?: Log): void {
    notifySystemd(this.env, 'STOPPING=1', log)
  }

  #exit(code: number): void {
    this.#exiting = true
    this.#proc.exit(code)
  }

  #settle(participant: Participant, code: number): void {
    if (participant.exitsProcess) this.#running.set(participant, code)
    else this.#running.delete(participant)
  }

  #waiting(): Participant[] {
    const waiting: Participant[] = []
    for (const [p, code] of this.#running) if (code === undefined) waiting.push(p)
    return waiting
  }

  #markRunning(participant: Participant): void {
    this.#running.set(participant, undefined)
    this.#traceExits()
  }

  #start(trigger: Trigger, filter: (p: Participant) => boolean): void {
    for (const p of this.#participants) {
      if (!filter(p) || this.#running.has(p)) continue
      this.#markRunning(p)
      p.trigger(trigger).catch(() => this.finished(p, 1))
    }
  }

  /**
   * One rule for every signal: the first signal of a shutdown starts it (or
   * joins the one a `shutdown()` call, a message or a crash already started);
   * the same signal again within `SAME_SIGNAL_WINDOW_MS` of its first arrival
   * is that signal delivered twice; any other signal while a shutdown runs is
   * the operator's second one and exits at once with 128 + its number.
   */
  #onSignal(signal: NodeJS.Signals): void {
    const now = this.#proc.now()
    const waiting = this.#waiting()
    if (waiting.length === 0) this.#received.clear()
    const firstAt = this.#received.get(signal)
    // nodemon sends its restart signal twice: under it a repeat is one restart whenever it comes (`platform.ts`).
    const repeats = waiting.length > 0 && waiting.every((p) => p.repeatedSignals?.includes(signal))
    if (firstAt !== undefined && (now - firstAt < SAME_SIGNAL_WINDOW_MS || repeats)) {
      for (const p of waiting) p.signalled?.(signal, 'duplicate')
      return
    }
    if (this.#received.size > 0) return this.#second(signal)
    this.#received.set(signal, now)
    for (const p of waiting) p.signalled?.(signal, 'joined')
    this.#start({ type: 'signal', signal }, (p) => p.signals.includes(signal))
  }

  /** Second signal while shutting down: the operator wants out now. */
  #second(signal: NodeJS.Signals): void {
    const waiting = this.#waiting()
    const code = signalExitCode(signal)
    for (const p of waiting) {
      p.abandon(signal, code)
      this.#settle(p, code)
    }
    if (waiting.some((p) => p.exitsProcess) || this.#crashed) this.#exit(code)
  }

  #listen(signal: NodeJS.Signals): void {
    if (this.#signalHandlers.has(signal)) return
    const handler = (): void => this.#onSignal(signal)
    this.#signalHandlers.set(signal, handler)
    this.#proc.on(signal, handler)
  }

  /**
   * While a shutdown runs, an exit the coordinator did not ask for (a hook
   * or handler calling `process.exit()`) leaves a trace on standard error
   * naming the state and the hooks still running, since no report will
   * follow; and an exit code of 0 becomes 1, since the shutdown did not finish.
   */
  #traceExits(): void {
    if (this.#exitHandler) return
    this.#exitHandler = (code: number) => {
      if (this.#exiting) return
      const waiting = this.#waiting()
      if (waiting.length === 0) return
      const where = waiting.map((p) => {
        const status = p.status?.()
        if (!status) return 'a shutdown'
        return `state ${status.state}, ${status.hooks.length > 0 ? `hooks running: ${status.hooks.join(', ')}` : 'no hook running'}`
      })
      const honest = code === 0 ? 1 : code
      if (code === 0) this.#proc.exitCode = honest
      this.#proc.stderr(`[lastcall] the process is exiting with code ${honest}${code === 0 ? ' (process.exit(0) was called)' : ''} before its shutdown finished (${where.join('; ')}): something called process.exit(); no report was made`)
    }
    this.#proc.on('exit', this.#exitHandler)
  }

  #listenToManager(): void {
    if (this.#messageHandler) return
    // PM2 sends 'shutdown' instead of a signal when `shutdown_with_message` is set (and always on Windows);
    // `clusterPrimary()` sends the same to its workers.
    this.#messageHandler = (message: unknown) => {
      // The cluster primary passing on its operator's second signal: a signal the
      // worker receives could be systemd's own (KillMode=control-group), a message cannot.
      if (isSecondSignalMessage(message)) {
        if (this.#waiting().length > 0) this.#second(message.signal)
        return
      }
      if (message !== SHUTDOWN_MESSAGE) return
      if (this.#waiting().length > 0) return
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
    if (this.#waiting().length === 0) this.#exit(this.#exitCode)
  }

  #listenToCrashes(): void {
    if (this.#crashHandlers) return
    this.#crashHandlers = {
      exception: (error) => this.#onCrash('uncaughtException', error),
      rejection: (reason) => this.#onCrash('unhandledRejection', reason),
    }
    this.#proc.on('uncaughtException', this.#crashHandlers.exception)
    this.#proc.on('unhandledRejection', this.#crashHandlers.rejection)
  }

  #refresh(): void {
    const wanted = new Set<NodeJS.Signals>()
    for (const p of this.#participants) for (const s of p.signals) wanted.add(s)
    for (const [signal, handler] of this.#signalHandlers) {
      if (wanted.has(signal)) continue
      this.#proc.removeListener(signal, handler)
      this.#signalHandlers.delete(signal)
    }
    if (this.#messageHandler && ![...this.#participants].some((p) => p.signals.length > 0)) {
      process.removeListener('message', this.#messageHandler)
      this.#messageHandler = undefined
    }
    if (this.#crashHandlers && ![...this.#participants].some((p) => p.crashed)) {
      this.#proc.removeListener('uncaughtException', this.#crashHandlers.exception)
      this.#proc.removeListener('unhandledRejection', this.#crashHandlers.rejection)
      this.#crashHandlers = undefined
    }
    if (this.#exitHandler && this.#participants.size === 0) {
      this.#proc.removeListener('exit', this.#exitHandler)
      this.#exitHandler = undefined
    }
  }
}

let coordinator: ProcessCoordinator | undefined

/** The process-wide host. Created on first use, so importing lastcall installs nothing. */
export function processHost(): ProcessHost {
  coordinator ??= new ProcessCoordinator()
  return coordinator
}

/** The IPC message that starts a worker's shutdown (PM2 sends the same with `shutdown_with_message`). */
export const SHUTDOWN_MESSAGE = 'shutdown'

/** What `clusterPrimary()` sends its workers (with `notifyWorkers: 'message'`) on a second signal: `{ type, signal }`. */
export const SECOND_SIGNAL_MESSAGE = 'lastcall:second-signal'

function isSecondSignalMessage(message: unknown): message is { type: typeof SECOND_SIGNAL_MESSAGE; signal: NodeJS.Signals } {
  if (typeof message !== 'object' || message === null) return false
  const m = message as { type?: unknown; signal?: unknown }
  return m.type === SECOND_SIGNAL_MESSAGE && typeof m.signal === 'string' && (STOP_SIGNALS as readonly string[]).includes(m.signal)
}
