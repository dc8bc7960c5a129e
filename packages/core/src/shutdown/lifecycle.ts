import { LastcallError, LastcallOptionError } from '../errors.js'

/**
 * Every state of the lifecycle, in order. It goes one way only:
 *
 * `starting` → `serving` → `leaving` → `draining` → `closing` → `closed`
 *
 * (`starting` may go straight to `leaving`, and a timeout from anywhere to `closed`.)
 */
export const SHUTDOWN_STATES = ['starting', 'serving', 'leaving', 'draining', 'closing', 'closed'] as const

/**
 * Where the lifecycle is:
 *
 * - starting: not ready yet (servers not listening, startup checks pending, or `ready()` not called).
 * - serving: ready; readiness probes pass.
 * - leaving: shutdown started; readiness fails, everything else is served normally (the readiness delay).
 * - draining: listeners closed; responses carry `Connection: close`; idle connections close after a linger.
 * - closing: the drain is over; cleanup phases run in order.
 * - closed: the report is final.
 */
export type ShutdownState = (typeof SHUTDOWN_STATES)[number]

/**
 * A state's place in the order. A plain object, not a Map: adapters ask
 * `hasReached` on every request (`shouldReject`), and a property read with a
 * known shape costs a few instructions where a Map lookup costs dozens.
 */
const ORDER: Readonly<Record<ShutdownState, number>> = Object.freeze({ starting: 0, serving: 1, leaving: 2, draining: 3, closing: 4, closed: 5 })

function orderOf(state: ShutdownState): number {
  return ORDER[state]
}

/** Whether `value` names a state of the lifecycle. */
export function isShutdownState(value: unknown): value is ShutdownState {
  return typeof value === 'string' && Object.hasOwn(ORDER, value)
}

/** Whether a lifecycle at `current` has reached `target` or gone past it. */
export function hasReached(current: ShutdownState, target: ShutdownState): boolean {
  return orderOf(current) >= orderOf(target)
}

/** The one-way rule: throws unless `next` comes after `previous`. */
export function assertTransition(previous: ShutdownState, next: ShutdownState): void {
  if (orderOf(next) <= orderOf(previous)) throw new LastcallError('LASTCALL_INVALID_STATE', `lastcall: cannot go from ${previous} to ${next}`)
}

/** Anything that has a lifecycle: the controller, or a stand-in that mirrors one (test-kit's remote controller). */
export interface LifecycleSource {
  readonly state: ShutdownState
  on(event: 'state', listener: (state: ShutdownState) => void): unknown
  off(event: 'state', listener: (state: ShutdownState) => void): unknown
}

/** Resolves once `source` has reached `target` or gone past it (at once if it already has). */
export function reached(source: LifecycleSource, target: ShutdownState): Promise<void> {
  if (!isShutdownState(target)) throw new LastcallOptionError('reached(state)', target, `one of ${SHUTDOWN_STATES.join(', ')}`)
  if (hasReached(source.state, target)) return Promise.resolve()
  return new Promise((resolve) => {
    const listener = (next: ShutdownState): void => {
      if (!hasReached(next, target)) return
      source.off('state', listener)
      resolve()
    }
    source.on('state', listener)
  })
}
