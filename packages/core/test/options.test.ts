import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { clusterPrimary, createShutdown, LastcallOptionError } from '../src/index.js'
import { OPTION_RULES, resolveOptions } from '../src/options.js'

const base = { signals: [], exit: false, logger: false } as const

function optionError(fn: () => unknown): LastcallOptionError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toBeInstanceOf(LastcallOptionError)
    expect((error as LastcallOptionError).code).toBe('LASTCALL_INVALID_OPTION')
    return error as LastcallOptionError
  }
  throw new Error('expected a LastcallOptionError')
}

describe('createShutdown options', () => {
  it('rejects negative and non-numeric timeouts, naming the option, the value and what is allowed', () => {
    const negative = optionError(() => createShutdown({ ...base, drainTimeoutMs: -1 }))
    expect(negative.option).toBe('drainTimeoutMs')
    expect(negative.message).toBe('lastcall: option "drainTimeoutMs" must be a finite number of milliseconds from 0 to 2147483647; received number -1')
    expect(optionError(() => createShutdown({ ...base, timeoutMs: '30s' as never })).message).toContain('received "30s"')
    expect(optionError(() => createShutdown({ ...base, readinessDelayMs: Number.NaN })).message).toContain('received number NaN')
    expect(optionError(() => createShutdown({ ...base, idleLingerMs: Infinity })).option).toBe('idleLingerMs')
  })

  it('takes keepAliveHint as a boolean only, off by default', () => {
    expect(optionError(() => createShutdown({ signals: [], keepAliveHint: 'yes' as unknown as boolean })).message).toBe(`lastcall: option "keepAliveHint" must be true or false; received "yes"`)
    expect(createShutdown({ signals: [] }).options.keepAliveHint).toBe(false)
    expect(createShutdown({ signals: [], keepAliveHint: true }).options.keepAliveHint).toBe(true)
  })

  it('rejects bounds of the automatic delay that contradict each other or a fixed delay', () => {
    expect(optionError(() => createShutdown({ ...base, readinessDelayMinMs: 6000, readinessDelayMaxMs: 5000 })).message).toContain('at most readinessDelayMaxMs (5000)')
    expect(optionError(() => createShutdown({ ...base, readinessDelayMs: 1000, readinessDelayMaxMs: 5000 })).message).toContain("only readinessDelayMs: 'auto'")
    expect(optionError(() => createShutdown({ ...base, readinessDelayMs: 'soon' as never })).message).toContain("'auto' or a finite number")
    expect(optionError(() => createShutdown({ ...base, timeoutMs: 12_000, readinessDelayMaxMs: 5000, drainTimeoutMs: 10_000 })).message).toContain('readinessDelayMaxMs + drainTimeoutMs (5000 + 10000 = 15000)')
  })

  it('rejects a timeoutMs smaller than the phases it contains', () => {
    const error = optionError(() => createShutdown({ ...base, readinessDelayMs: 5000, drainTimeoutMs: 10_000, timeoutMs: 12_000 }))
    expect(error.message).toContain('at least readinessDelayMs + drainTimeoutMs (5000 + 10000 = 15000)')
    expect(error.message).toContain('received number 12000')
  })

  it('rejects unknown signal names and uncatchable signals', () => {
    expect(optionError(() => createShutdown({ ...base, signals: ['SIGTERMM'] })).message).toContain('option "signals[0]"')
    expect(optionError(() => createShutdown({ ...base, signals: ['SIGTERM', 'SIGKILL'] })).option).toBe('signals[1]')
    expect(optionError(() => createShutdown({ ...base, signals: 'SIGTERM' as never })).option).toBe('signals')
    expect(optionError(() => createShutdown({ ...base, signals: ['SIGINT', 'SIGINT'] })).message).toContain('not already listed')
  })

  it('rejects unknown keys, listing the known ones', () => {
    const error = optionError(() => createShutdown({ ...base, drainTimeout: 5 } as never))
    expect(error.option).toBe('drainTimeout')
    expect(error.message).toContain('drainTimeoutMs')
  })

  it('rejects a logger without info/warn/error and a bad exit', () => {
    expect(optionError(() => createShutdown({ ...base, logger: { info() {} } as never })).option).toBe('logger')
    expect(optionError(() => createShutdown({ ...base, exit: 1 as never })).option).toBe('exit')
  })

  it('derives defaults from each other so any single option alone is valid', () => {
    expect(createShutdown({ ...base }).options).toMatchObject({
      readinessDelayMs: 'auto', readinessDelayMinMs: 0, readinessDelayMaxMs: 10_000, drainTimeoutMs: 10_000, timeoutMs: 25_000, idleLingerMs: 250,
    })
    expect(createShutdown({ ...base, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } }).options).toMatchObject({
      readinessDelayMs: 'auto', readinessDelayMinMs: 5000, readinessDelayMaxMs: 10_000, drainTimeoutMs: 10_000, timeoutMs: 25_000, kubernetes: true,
    })
    // A short overall bound shrinks the phases it contains instead of failing.
    expect(createShutdown({ ...base, timeoutMs: 8000, env: { KUBERNETES_SERVICE_HOST: 'x' } }).options).toMatchObject({ readinessDelayMinMs: 2000, readinessDelayMaxMs: 2000, drainTimeoutMs: 3000, timeoutMs: 8000 })
    // A long drain or a long fixed delay grows the overall bound.
    expect(createShutdown({ ...base, drainTimeoutMs: 40_000 }).options.timeoutMs).toBe(55_000)
    expect(createShutdown({ ...base, readinessDelayMs: 20_000 }).options.timeoutMs).toBe(35_000)
    expect(createShutdown({ ...base, readinessDelayMs: 0 }).options).toMatchObject({ readinessDelayMs: 0, timeoutMs: 25_000 })
  })

  it('defaults signals to SIGTERM and SIGINT, and [] turns them off', () => {
    expect(createShutdown({ exit: false, logger: false, signals: [] }).options.signals).toEqual([])
    const s = createShutdown({ exit: false, logger: false })
    expect(s.options.signals).toEqual(['SIGTERM', 'SIGINT'])
    s.dispose()
  })

  it('rejects phases out of start order and hooks in unknown phases', () => {
    expect(optionError(() => createShutdown({ ...base, phases: [{ name: 'a' }, { name: 'b', start: 'drain' }] })).message).toContain('"cleanup" or later')
    const s = createShutdown({ ...base })
    expect(optionError(() => s.onShutdown('db', () => {}, { phase: 'nope' })).message).toContain('"deregister", "intake", "default", "stores", "telemetry"')
    expect(optionError(() => s.onShutdown('has space', () => {})).option).toBe('onShutdown(name)')
    s.onShutdown('db', () => {})
    expect(optionError(() => s.onShutdown('db', () => {})).message).toContain('not already registered')
  })

  it("rejects a phase timeoutMs that is not a positive duration, and keeps a valid one on the resolved phase", () => {
    expect(optionError(() => createShutdown({ ...base, phases: [{ name: 'a', timeoutMs: 0 }] })).option).toBe('phases[0].timeoutMs')
    expect(optionError(() => createShutdown({ ...base, phases: [{ name: 'a', timeoutMs: '5s' as never }] })).option).toBe('phases[0].timeoutMs')
    const s = createShutdown({ ...base, phases: [{ name: 'intake', start: 'drain', timeoutMs: 2000 }, { name: 'stores' }] })
    expect(s.options.phases).toEqual([{ name: 'intake', start: 'drain', timeoutMs: 2000 }, { name: 'stores', start: 'cleanup' }])
    s.dispose()
  })

  it("hands every hook the shutdown's deadline through a real controller", async () => {
    const s = createShutdown({ ...base, timeoutMs: 4000, hookTimeoutMs: 60_000, readinessDelayMs: 0, drainTimeoutMs: 100 })
    let left = -1
    s.onShutdown('db', (context) => {
      left = context.timeLeftMs
    })
    await s.shutdown()
    // Bounded by timeoutMs (4000), not the hook's own 60 s; the drain with no server took a few ms.
    expect(left).toBeGreaterThan(3500)
    expect(left).toBeLessThanOrEqual(4000)
  })
})

describe('createShutdown options that cannot work', () => {
  it('accepts only the signals sent to stop a process, with one rule for controllers and the cluster primary', () => {
    for (const signal of ['SIGCHLD', 'SIGWINCH', 'SIGPIPE', 'SIGSEGV', 'SIGKILL', 'SIGSTOP', 'SIGALRM']) {
      const error = optionError(() => createShutdown({ ...base, signals: ['SIGTERM', signal] }))
      expect(error.option).toBe('signals[1]')
      expect(error.message).toBe(`lastcall: option "signals[1]" must be one of the signals that stop a process (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGBREAK); received "${signal}"`)
    }
    expect(createShutdown({ ...base, signals: ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] }).options.signals).toHaveLength(5)
    expect(optionError(() => clusterPrimary({ signals: ['SIGWINCH'] })).option).toBe('signals[0]')
    expect(optionError(() => clusterPrimary({ notifyWorkers: 'SIGKILL' })).option).toBe('notifyWorkers')
    expect(optionError(() => clusterPrimary({ signals: ['SIGTERM', 'SIGTERM'] })).message).toContain('not already listed')
  })

  it('warns at creation when idleLingerMs is above drainTimeoutMs, and derives a linger that fits a short drain', () => {
    const warnings: string[] = []
    const logger = { info() {}, warn: (_fields: unknown, message: string) => warnings.push(message), error() {} }
    createShutdown({ ...base, logger, idleLingerMs: 5000, drainTimeoutMs: 3000 })
    expect(warnings).toEqual([
      'idleLingerMs (5000 ms) is above drainTimeoutMs (3000 ms): every connection still idle at the drain is cut at the deadline and counted as forced, so the shutdown exits 1. Lower idleLingerMs below 3000 ms or raise drainTimeoutMs above 5000 ms',
    ])
    createShutdown({ ...base, logger, idleLingerMs: 3000, drainTimeoutMs: 3000 })
    expect(warnings).toHaveLength(1)
    expect(createShutdown({ ...base, drainTimeoutMs: 300 }).options.idleLingerMs).toBe(150)
    expect(createShutdown({ ...base, drainTimeoutMs: 300, idleLingerMs: 200 }).options.idleLingerMs).toBe(200)
  })

  it('rejects handler() without a function at once, not at the first request', () => {
    const s = createShutdown({ ...base })
    const error = optionError(() => s.handler(undefined as never))
    expect(error.option).toBe('handler(handler)')
    expect(error.message).toBe('lastcall: option "handler(handler)" must be a request listener, a function (req, res) => void; received undefined')
  })
})

describe('the option table', () => {
  it('names the nearest option when an unknown key is a likely typo, and none when nothing is near', () => {
    expect(optionError(() => createShutdown({ ...base, drainTimeout: 5 } as never)).message).toBe(
      `lastcall: option "drainTimeout" must be one of the known options (${Object.keys(OPTION_RULES).join(', ')}), most likely "drainTimeoutMs"; received number 5`,
    )
    expect(optionError(() => createShutdown({ ...base, GracePeriodMS: 5 } as never)).message).toContain('most likely "gracePeriodMs"')
    expect(optionError(() => createShutdown({ ...base, port: 3000 } as never)).message).not.toContain('most likely')
  })

  it('checks every option by its rule: a value of the wrong kind names the option, the value and what is allowed', () => {
    const wrong = { readinessDelayMs: 'soon', readinessDelayMinMs: -1, readinessDelayMaxMs: -1, drainTimeoutMs: -1, timeoutMs: 0, signals: 'SIGTERM', exit: 1, logger: {}, idleLingerMs: -1, hookTimeoutMs: 0, keepAliveTimeoutMs: 0, phases: [], manualReady: 'yes', whileDraining: 'drop', keepAliveHint: 1, requestTimeoutMs: 0, probes: 'on', clock: {}, env: 'x', webSocketCloseTimeoutMs: -1, gracePeriodMs: 0, onCrash: 'exit', platform: 'docker' } satisfies Record<keyof typeof OPTION_RULES, unknown>
    for (const [key, value] of Object.entries(wrong)) {
      const error = optionError(() => createShutdown({ ...base, [key]: value } as never))
      expect(error.option).toBe(key)
      expect(error.message.startsWith(`lastcall: option "${key}" must be ${OPTION_RULES[key as keyof typeof OPTION_RULES].allowed}; received `), error.message).toBe(true)
    }
  })

  it('uses the defaults the TSDoc states, for every option whose default is a constant', () => {
    const source = readFileSync(join(import.meta.dirname, '../src/options.ts'), 'utf8')
    const shown = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v))
    const plain = resolveOptions({ platform: false }, 'linux', {}) as unknown as Record<string, unknown>
    const checked: string[] = []
    for (const [key, rule] of Object.entries(OPTION_RULES) as Array<[string, { default?: unknown }]>) {
      if (!('default' in rule) || typeof rule.default === 'object') continue
      // The TSDoc's @default line just above the option's field in ShutdownOptions.
      const doc = new RegExp(`@default ([^\\n]*)\\n\\s*\\*/\\n\\s*${key}\\?:`).exec(source)?.[1] ?? ''
      expect(doc.startsWith(shown(rule.default)) && !/^\w/.test(doc.slice(shown(rule.default).length)), `${key}: @default ${doc}`).toBe(true)
      if (key !== 'platform') expect(plain[key], key).toEqual(rule.default)
      checked.push(key)
    }
    expect(checked).toEqual(['readinessDelayMs', 'exit', 'hookTimeoutMs', 'manualReady', 'whileDraining', 'keepAliveHint', 'webSocketCloseTimeoutMs', 'onCrash', 'platform'])
  })
})
