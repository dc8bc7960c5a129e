import { LastcallOptionError } from './errors.js'

/**
 * The checks every option goes through, shared by the controller's options,
 * hooks, checks, probes and the cluster helper. Each throws a
 * `LastcallOptionError` naming the option, the value and what is allowed.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export const MAX_TIMER_MS = 2 ** 31 - 1

export function assertDuration(option: string, value: unknown, { allowZero = true } = {}): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || value > MAX_TIMER_MS) {
    throw new LastcallOptionError(option, value, `a finite number of milliseconds from ${allowZero ? 0 : 1} to ${MAX_TIMER_MS}`)
  }
}

export function assertKnownKeys(where: string, value: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new LastcallOptionError(where ? `${where}.${key}` : key, (value as Record<string, unknown>)[key], `one of the known options (${[...known].join(', ')})`)
    }
  }
}

export function assertName(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value) || value.length > 64) {
    throw new LastcallOptionError(option, value, 'a name of 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit')
  }
}
