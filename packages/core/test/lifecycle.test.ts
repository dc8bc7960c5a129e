import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { LastcallError, LastcallOptionError } from '../src/errors.js'
import { assertTransition, hasReached, isShutdownState, reached, SHUTDOWN_STATES, type ShutdownState } from '../src/shutdown/lifecycle.js'

class Mirror extends EventEmitter<{ state: [ShutdownState] }> {
  state: ShutdownState = 'starting'
  move(next: ShutdownState): void {
    this.state = next
    this.emit('state', next)
  }
}

describe('SHUTDOWN_STATES', () => {
  it('lists the states in the order the lifecycle goes through them', () => {
    expect(SHUTDOWN_STATES).toEqual(['starting', 'serving', 'leaving', 'draining', 'closing', 'closed'])
  })
})

describe('isShutdownState', () => {
  it('accepts the states and nothing else, not even names every object has', () => {
    for (const state of SHUTDOWN_STATES) expect(isShutdownState(state)).toBe(true)
    for (const value of ['stopping', 'toString', '__proto__', '', 3, undefined]) expect(isShutdownState(value)).toBe(false)
  })
})

describe('hasReached', () => {
  it('is true for the state itself and every later one, false for earlier ones', () => {
    expect(SHUTDOWN_STATES.filter((s) => hasReached(s, 'draining'))).toEqual(['draining', 'closing', 'closed'])
    expect(SHUTDOWN_STATES.every((s) => hasReached(s, 'starting'))).toBe(true)
  })

  it('follows the order of SHUTDOWN_STATES for every pair', () => {
    SHUTDOWN_STATES.forEach((earlier, i) => {
      SHUTDOWN_STATES.forEach((later, j) => {
        expect(hasReached(later, earlier)).toBe(j >= i)
      })
    })
  })
})

describe('assertTransition', () => {
  it('lets the lifecycle move forward, skipping states included', () => {
    expect(() => assertTransition('starting', 'serving')).not.toThrow()
    expect(() => assertTransition('starting', 'leaving')).not.toThrow()
    expect(() => assertTransition('leaving', 'closed')).not.toThrow()
  })

  it('refuses to stay or go back, with LASTCALL_INVALID_STATE', () => {
    for (const [from, to] of [['serving', 'serving'], ['draining', 'leaving'], ['closed', 'starting']] as const) {
      let error: unknown
      try {
        assertTransition(from, to)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(LastcallError)
      expect(error).toMatchObject({ code: 'LASTCALL_INVALID_STATE', message: `lastcall: cannot go from ${from} to ${to}` })
    }
  })
})

describe('reached', () => {
  it('resolves at once when the source is at the state or past it', async () => {
    const source = new Mirror()
    source.state = 'closing'
    await reached(source, 'draining')
    await reached(source, 'closing')
  })

  it('resolves on the first transition to the state or past it, and stops listening', async () => {
    const source = new Mirror()
    let done = false
    const waiting = reached(source, 'draining').then(() => (done = true))
    source.move('serving')
    source.move('leaving')
    await Promise.resolve()
    expect(done).toBe(false)
    source.move('closed')
    await waiting
    expect(source.listenerCount('state')).toBe(0)
  })

  it('throws a LastcallOptionError for a name that is not a state', () => {
    expect(() => reached(new Mirror(), 'stopping' as ShutdownState)).toThrow(LastcallOptionError)
    expect(() => reached(new Mirror(), 'toString' as ShutdownState)).toThrow('option "reached(state)" must be one of starting, serving, leaving, draining, closing, closed; received "toString"')
  })
})
