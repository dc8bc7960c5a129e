import type { ShutdownTiming } from './findings.js'
import { LastcallOptionError, minimumGracePeriodMs, resolveOptions, type ShutdownOptions } from '@lastcall/core'

/**
 * How the app configures lastcall, so the check resolves the same options
 * the app will: what it passes to `createShutdown()` (`--app-options`) and
 * environment variables it maps to options (`--env-option NAME=option`).
 */
export interface AppSettings {
  /** Options the app passes to `createShutdown()` (JSON-able ones). */
  options?: ShutdownOptions | undefined
  /** Environment variable name → option name, for apps that read their options from the environment. */
  envOptions?: Readonly<Record<string, string>> | undefined
}

/** lastcall's shutdown timing and signals for one workload, from core's own option resolution. */
export interface Budget extends ShutdownTiming {
  signals: readonly string[]
  /** The grace period lastcall itself believes in (`gracePeriodMs` or what it derives from the environment). */
  gracePeriodMs: number | undefined
}

/**
 * Resolves lastcall's options exactly as `createShutdown()` will in a Linux
 * process with this environment, through core's own `resolveOptions()`:
 * nothing here repeats a default, so the check cannot drift from core.
 * Throws `LastcallOptionError` when the options or the environment are invalid.
 */
export function resolveBudget(app: AppSettings, env: Readonly<Record<string, string | undefined>>): Budget {
  const options: Record<string, unknown> = { ...app.options }
  for (const [name, option] of Object.entries(app.envOptions ?? {})) {
    const raw = env[name]
    if (raw === undefined) continue
    options[option] = option === 'signals' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : /^\d+$/.test(raw.trim()) ? Number(raw) : raw
  }
  const o = resolveOptions({ ...(options as ShutdownOptions), env: { ...env } }, 'linux', env)
  const delayMax = o.readinessDelayMs === 'auto' ? o.readinessDelayMaxMs : o.readinessDelayMs
  const delayMin = o.readinessDelayMs === 'auto' ? o.readinessDelayMinMs : o.readinessDelayMs
  return {
    timeoutMs: o.timeoutMs,
    readinessDelayMinMs: delayMin,
    readinessDelayMaxMs: delayMax,
    drainTimeoutMs: o.drainTimeoutMs,
    hooksMs: Math.max(0, o.timeoutMs - delayMax - o.drainTimeoutMs),
    // The margin of the shortest grace period this timeoutMs fits in: core's rule, so grace < timeoutMs + marginMs is exactly core's warning.
    marginMs: minimumGracePeriodMs(o.timeoutMs) - o.timeoutMs,
    signals: o.signals,
    gracePeriodMs: o.gracePeriodMs,
  }
}

export { LastcallOptionError }
