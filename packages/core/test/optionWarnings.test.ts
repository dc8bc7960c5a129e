import { describe, expect, it } from 'vitest'
import { optionWarnings } from '../src/optionWarnings.js'
import { resolveOptions, type ShutdownOptions } from '../src/options.js'

/** Options as the controller resolves them, with no platform and no environment. */
const resolved = (o: ShutdownOptions) => resolveOptions({ platform: false, env: {}, ...o }, 'linux', {})

describe('optionWarnings', () => {
  it('says nothing for lastcall’s defaults, nor for a timeoutMs that fits its grace period exactly', () => {
    expect(optionWarnings(resolved({}))).toEqual([])
    expect(optionWarnings(resolved({ timeoutMs: 29_000, gracePeriodMs: 30_000 }))).toEqual([])
    expect(optionWarnings(resolved({ timeoutMs: 1200, gracePeriodMs: 1600 }))).toEqual([])
  })

  it('warns when timeoutMs + the safety margin does not fit the grace period, with the fix both ways', () => {
    expect(optionWarnings(resolved({ timeoutMs: 29_001, gracePeriodMs: 30_000 }))).toEqual([{
      message: "timeoutMs (29001 ms) + safety margin (1000 ms) = 30001 ms does not fit in the platform's grace period (gracePeriodMs 30000 ms): " +
        'the process may be killed before its shutdown ends. Lower timeoutMs to at most 29000 ms or raise the grace period to at least 30001 ms',
      fields: { timeoutMs: 29_001, gracePeriodMs: 30_000, safetyMarginMs: 1000 },
    }])
    // A short grace period: its quarter is the margin.
    expect(optionWarnings(resolved({ timeoutMs: 1201, gracePeriodMs: 1600 }))[0]!.fields).toEqual({ timeoutMs: 1201, gracePeriodMs: 1600, safetyMarginMs: 400 })
  })

  it('warns when idleLingerMs is above drainTimeoutMs, and not when it equals it', () => {
    expect(optionWarnings(resolved({ drainTimeoutMs: 200, idleLingerMs: 200 }))).toEqual([])
    const [warning, ...rest] = optionWarnings(resolved({ drainTimeoutMs: 200, idleLingerMs: 201 }))
    expect(rest).toEqual([])
    expect(warning!.message).toBe(
      'idleLingerMs (201 ms) is above drainTimeoutMs (200 ms): every connection still idle at the drain is cut at the deadline and counted as forced, ' +
        'so the shutdown exits 1. Lower idleLingerMs below 200 ms or raise drainTimeoutMs above 201 ms',
    )
    expect(warning!.fields).toEqual({ idleLingerMs: 201, drainTimeoutMs: 200 })
  })

  it('gives every warning that applies, the grace period first', () => {
    const warnings = optionWarnings({ timeoutMs: 5000, gracePeriodMs: 5000, drainTimeoutMs: 100, idleLingerMs: 250 })
    expect(warnings.map((w) => Object.keys(w.fields)[0])).toEqual(['timeoutMs', 'idleLingerMs'])
  })
})
