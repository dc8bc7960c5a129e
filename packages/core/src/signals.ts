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
}

export interface ProcessHost {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly platform: NodeJS.Platform
  register(participant: Participant): () => void
  /** The participant finished; exits the process once every running participant that wants exit has finished. */
  finished(participant: Participant, code: number): void
  /** A participant started shutting down on its own (a `shutdown()` call): a signal now counts as the second one. */
  started(participant: Participant): void
  /** Tells a process manager (PM2 `wait_ready`) that the service is ready. */
  notifyReady(): void
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGBREAK: 21 }

/** 128 + the signal's number, what a shell reports for a process killed by it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15)
}

class ProcessCoordinator implements ProcessHost {
  readonly env = process.env
  readonly platform = process.platform
  readonly #participants = new Set<Participant>()
  readonly #running = new Map<Participant, number | undefined>()
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>()
  #messageHandler: ((message: unknown) => void) | undefined
  #exitCode = 0

  register(participant: Participant): () => void {
    this.#participants.add(participant)
    for (const signal of participant.signals) this.#listen(signal)
    if (participant.signals.length > 0 && this.env.pm_id !== undefined && typeof process.send === 'function') this.#listenToPm2()
    return () => {
      this.#participants.delete(participant)
      this.#refresh()
    }
  }

  finished(participant: Participant, code: number): void {
    this.#exitCode = Math.max(this.#exitCode, code)
    if (participant.exitsProcess) this.#running.set(participant, code)
    else this.#running.delete(participant)
    for (const [p, done] of this.#running) if (p.exitsProcess && done === undefined) return
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

  notifyReady(): void {
    if (this.env.pm_id !== undefined && typeof process.send === 'function') process.send('ready')
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

  #listenToPm2(): void {
    if (this.#messageHandler) return
    // PM2 sends 'shutdown' instead of a signal when `shutdown_with_message` is set (and always on Windows).
    this.#messageHandler = (message: unknown) => {
      if (message !== 'shutdown') return
      if ([...this.#running.values()].some((code) => code === undefined)) return
      this.#start({ type: 'message', message: 'shutdown' }, (p) => p.signals.length > 0)
    }
    process.on('message', this.#messageHandler)
    // A 'message' listener keeps a forked child alive; it must not.
    const channel = (process as { channel?: { unref?: () => void } }).channel
    channel?.unref?.()
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
  }
}

let coordinator: ProcessCoordinator | undefined

/** The process-wide host. Created on first use, so importing lastcall installs nothing. */
export function processHost(): ProcessHost {
  coordinator ??= new ProcessCoordinator()
  return coordinator
}
