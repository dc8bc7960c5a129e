import { describe, expect, it } from 'vitest'
import { createShutdown, GRACE_SAFETY_MARGIN_MS, LastcallOptionError, type Logger } from '../src/index.js'

interface Line { level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = []
  const at = (level: Line['level']) => (fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message })
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

const base = { signals: [], exit: false } as const

describe('gracePeriodMs', () => {
  it('warns at creation, with the numbers, when timeoutMs + the safety margin does not fit in the grace period from the environment', () => {
    const { logger, lines } = capture()
    createShutdown({ ...base, logger, timeoutMs: 29_500, env: { LASTCALL_GRACE_PERIOD_MS: '30000' } })
    const warnings = lines.filter((l) => l.level === 'warn')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toContain('timeoutMs (29500 ms) + safety margin (1000 ms) = 30500 ms does not fit')
    expect(warnings[0]!.message).toContain('gracePeriodMs 30000 ms')
    expect(warnings[0]!.message).toContain('Lower timeoutMs to at most 29000 ms or raise the grace period to at least 30500 ms')
    expect(warnings[0]!.fields).toMatchObject({ timeoutMs: 29_500, gracePeriodMs: 30_000, safetyMarginMs: GRACE_SAFETY_MARGIN_MS })
  })

  it('fits timeoutMs, the delay and the drain inside a grace period given without timeoutMs, and says so', () => {
    const { logger, lines } = capture()
    const shutdown = createShutdown({ ...base, logger, platform: false, gracePeriodMs: 20_000 })
    expect(shutdown.options).toMatchObject({ gracePeriodMs: 20_000, timeoutMs: 19_000, readinessDelayMaxMs: 4750, drainTimeoutMs: 7125 })
    expect(lines.filter((l) => l.level === 'warn')).toEqual([])
    expect(lines.map((l) => l.message)).toContain('grace period 20000 ms as given; timeoutMs 19000 to end before the grace period does')
    // A short one: a quarter of it is the margin, and the linger shrinks to fit the drain.
    expect(createShutdown({ ...base, logger, platform: false, env: { LASTCALL_GRACE_PERIOD_MS: '1000' } }).options).toMatchObject({ timeoutMs: 750, readinessDelayMaxMs: 187, drainTimeoutMs: 281, idleLingerMs: 140 })
    // One long enough for lastcall's defaults changes nothing.
    expect(createShutdown({ ...base, logger, gracePeriodMs: 60_000 }).options.timeoutMs).toBe(25_000)
  })

  it('keeps an explicit timeoutMs that does not fit a grace period given, and warns with the default timeoutMs too when the drain given leaves no room', () => {
    const { logger, lines } = capture()
    expect(createShutdown({ ...base, logger, gracePeriodMs: 20_000, timeoutMs: 25_000 }).options.timeoutMs).toBe(25_000)
    expect(createShutdown({ ...base, logger, platform: false, gracePeriodMs: 20_000, drainTimeoutMs: 15_000 }).options.timeoutMs).toBe(30_000)
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.message)
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toContain('timeoutMs (25000 ms) + safety margin (1000 ms) = 26000 ms')
    expect(warnings[1]).toContain('timeoutMs (30000 ms) + safety margin (1000 ms) = 31000 ms')
  })

  it('uses a quarter of a short grace period as the margin in its warning', () => {
    const { logger, lines } = capture()
    createShutdown({ ...base, logger, timeoutMs: 1500, gracePeriodMs: 1600 })
    const warnings = lines.filter((l) => l.level === 'warn')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toContain('timeoutMs (1500 ms) + safety margin (400 ms) = 1900 ms does not fit')
    expect(warnings[0]!.message).toContain('Lower timeoutMs to at most 1200 ms or raise the grace period to at least 1999 ms')
    expect(warnings[0]!.fields).toMatchObject({ timeoutMs: 1500, gracePeriodMs: 1600, safetyMarginMs: 400 })
  })

  it('stays quiet when timeoutMs + the margin fits exactly, and when no grace period is known', () => {
    const { logger, lines } = capture()
    createShutdown({ ...base, logger, timeoutMs: 29_000, env: { LASTCALL_GRACE_PERIOD_MS: '30000' } })
    const unknown = createShutdown({ ...base, logger, env: {} })
    expect(unknown.options.gracePeriodMs).toBeUndefined()
    expect(lines.filter((l) => l.level === 'warn')).toEqual([])
  })

  it('prefers the option over the environment variable', () => {
    const { logger, lines } = capture()
    const shutdown = createShutdown({ ...base, logger, timeoutMs: 25_000, gracePeriodMs: 60_000, env: { LASTCALL_GRACE_PERIOD_MS: '1000' } })
    expect(shutdown.options.gracePeriodMs).toBe(60_000)
    expect(lines.filter((l) => l.level === 'warn')).toEqual([])
  })

  it('rejects a malformed LASTCALL_GRACE_PERIOD_MS or gracePeriodMs, naming where it came from', () => {
    for (const value of ['30s', '-5', '0', '1e3']) {
      let error: unknown
      try {
        createShutdown({ ...base, logger: false, env: { LASTCALL_GRACE_PERIOD_MS: value } })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(LastcallOptionError)
      expect((error as LastcallOptionError).option).toBe('env.LASTCALL_GRACE_PERIOD_MS')
    }
    expect(() => createShutdown({ ...base, logger: false, gracePeriodMs: 0 })).toThrow(/option "gracePeriodMs" must be a finite number of milliseconds from 1/)
  })
})
