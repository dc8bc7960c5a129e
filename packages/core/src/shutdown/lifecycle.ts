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
 * A state's place in the order. A switch, not a lookup table: adapters ask
 * `hasReached` on every request (`shouldReject`), and comparing interned
 * strings costs a few instructions where a Map lookup, or a keyed property
 * read whose key varies (V8 makes that site megamorphic), costs dozens
 * (measured with callgrind, docs/bench-overhead.md).
 */
function orderOf(state: ShutdownState): number {
  switch (state) {
    case 'starting':
      return 0
    case 'serving':
      return 1
    case 'leaving':
      return 2
    case 'draining':
      return 3
    case 'closing':
      return 4
    case 'closed':
      return 5
  }
}

/** Whether `value` names a state of the lifecycle. */
export function isShutdownState(value: unknown): value is ShutdownState {
  return typeof value === 'string' && (SHUTDOWN_STATES as readonly string[]).includes(value)
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
