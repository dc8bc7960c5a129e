import { LastcallOptionError } from './errors.js'

/**
 * The checks every option goes through, shared by the controller's options,
 * hooks, checks, probes and the cluster helper. Each throws a
 * `LastcallOptionError` naming the option, the value and what is allowed.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export const MAX_TIMER_MS = 2 ** 31 - 1

/** What a duration option allows, as the error says it. */
export function durationAllowed(min: 0 | 1): string {
  return `a finite number of milliseconds from ${min} to ${MAX_TIMER_MS}`
}

export function assertDuration(option: string, value: unknown, { allowZero = true } = {}): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || value > MAX_TIMER_MS) {
    throw new LastcallOptionError(option, value, durationAllowed(allowZero ? 0 : 1))
  }
}

/** Throws on a key that is not known, naming the known ones and the nearest, when one is a likely typo. */
export function assertKnownKeys(where: string, value: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      const near = nearest(key, known)
      const hint = near === undefined ? '' : `, most likely "${near}"`
      throw new LastcallOptionError(where ? `${where}.${key}` : key, (value as Record<string, unknown>)[key], `one of the known options (${[...known].join(', ')})${hint}`)
    }
  }
}

/** The known name a typo most likely meant: a different case, or at most a third of its letters (3 at most) away. */
function nearest(key: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Math.min(3, Math.ceil(key.length / 3)) + 1
  for (const name of known) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name)
    if (d < bestDistance) [best, bestDistance] = [name, d]
  }
  return best
}

/** Levenshtein distance: the fewest one-letter insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]!
}

export function assertName(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value) || value.length > 64) {
    throw new LastcallOptionError(option, value, 'a name of 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit')
  }
}

/**
 * The signals that supervisors, terminals and process managers send to stop
 * or restart a process: SIGTERM (Kubernetes, Docker, systemd, `node --watch`),
 * SIGINT (Ctrl-C, PM2), SIGHUP (a closed terminal), SIGQUIT, SIGUSR1 and
 * SIGUSR2 (nodemon restarts with SIGUSR2), SIGBREAK (Ctrl-Break on Windows).
 * Any other signal is either never sent to stop a process (SIGCHLD, SIGWINCH,
 * SIGPIPE...), a fault of the process itself (SIGSEGV, SIGBUS...) or cannot be
 * caught at all (SIGKILL, SIGSTOP).
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGBREAK'])

const STOP_SIGNAL_LIST = STOP_SIGNALS.join(', ')

/** One signal that stops a process (see `STOP_SIGNALS`). */
export function assertStopSignal(option: string, value: unknown): asserts value is NodeJS.Signals {
  if (typeof value !== 'string' || !(STOP_SIGNALS as readonly string[]).includes(value)) {
    throw new LastcallOptionError(option, value, `one of the signals that stop a process (${STOP_SIGNAL_LIST})`)
  }
}

/** A list of distinct signals that stop a process; `[]` is allowed. The one check for every signal option. */
export function assertStopSignals(option: string, value: unknown): readonly NodeJS.Signals[] {
  if (!Array.isArray(value)) throw new LastcallOptionError(option, value, `an array of signals that stop a process (${STOP_SIGNAL_LIST}), or [] for none`)
  const seen = new Set<unknown>()
  value.forEach((name: unknown, i) => {
    assertStopSignal(`${option}[${i}]`, name)
    if (seen.has(name)) throw new LastcallOptionError(`${option}[${i}]`, name, 'a signal not already listed')
    seen.add(name)
  })
  return value as NodeJS.Signals[]
}
