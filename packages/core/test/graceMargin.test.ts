import { describe, expect, it } from 'vitest'
import { fitsGracePeriod, GRACE_SAFETY_MARGIN_MS, graceSafetyMarginMs, minimumGracePeriodMs } from '../src/index.js'

describe('graceSafetyMarginMs', () => {
  it('is a quarter of a short grace period and 1000 ms from 4 s up', () => {
    expect(graceSafetyMarginMs(1600)).toBe(400)
    expect(graceSafetyMarginMs(801)).toBe(200)
    expect(graceSafetyMarginMs(3999)).toBe(999)
    expect(graceSafetyMarginMs(4000)).toBe(1000)
    expect(graceSafetyMarginMs(10_000)).toBe(1000)
    expect(graceSafetyMarginMs(30_000)).toBe(GRACE_SAFETY_MARGIN_MS)
  })

  it('is the whole 1000 ms when the grace period is unknown', () => {
    expect(graceSafetyMarginMs(undefined)).toBe(1000)
    expect(graceSafetyMarginMs(Infinity)).toBe(1000)
  })
})

describe('fitsGracePeriod', () => {
  it('holds when timeoutMs plus the margin of that grace period fits, exactly included', () => {
    expect(fitsGracePeriod(1200, 1600)).toBe(true)
    expect(fitsGracePeriod(1201, 1600)).toBe(false)
    expect(fitsGracePeriod(29_000, 30_000)).toBe(true)
    expect(fitsGracePeriod(29_001, 30_000)).toBe(false)
  })
})

describe('minimumGracePeriodMs', () => {
  it('is the shortest grace period a timeoutMs fits in: timeoutMs + 1000 from 3000 up, about four thirds below', () => {
    expect(minimumGracePeriodMs(25_000)).toBe(26_000)
    expect(minimumGracePeriodMs(3001)).toBe(4001)
    expect(minimumGracePeriodMs(3000)).toBe(3999)
    expect(minimumGracePeriodMs(1200)).toBe(1599)
    expect(minimumGracePeriodMs(1)).toBe(1)
  })

  it('is the inverse of the margin for every timeoutMs up to 6 s: it fits, one millisecond less does not', () => {
    for (let timeoutMs = 1; timeoutMs <= 6000; timeoutMs++) {
      const g = minimumGracePeriodMs(timeoutMs)
      if (!fitsGracePeriod(timeoutMs, g) || fitsGracePeriod(timeoutMs, g - 1)) throw new Error(`timeoutMs ${timeoutMs}: ${g}`)
    }
  })
})
