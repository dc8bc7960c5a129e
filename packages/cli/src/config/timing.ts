import { fitsGracePeriod, graceSafetyMarginMs, LastcallOptionError } from '@lastcall/core'
import { resolveBudget, type AppSettings, type Budget } from './budget.js'
import { seconds, type ConfigKind, type FindingList, type StopTiming } from './findings.js'
import { startVerdict, type StartCommand } from './startCommand.js'

/** What a platform file says about one workload's stop. */
export interface Workload {
  kind: ConfigKind
  where: string
  /** The grace period, null when the file cannot say (a Dockerfile). */
  gracePeriodMs: number | null
  gracePeriodFrom: string
  /** The setting to change in the fix, e.g. `terminationGracePeriodSeconds`. */
  graceSetting: string
  /** How to write a number of milliseconds in that setting. */
  graceValue: (ms: number) => string
  beforeSignalMs: number
  stopSignal: string
  /** The environment the app will see. */
  env: Readonly<Record<string, string | undefined>>
  /** How the app is started, when the file says. */
  command?: StartCommand | undefined
  /** Whether the platform signals only the main process (so a shell in front swallows the signal). */
  signalsMainOnly: boolean
  /** Where a relative wrapper script is looked for. */
  scriptDirs: readonly string[]
}

/**
 * The checks every platform shares: the grace period against lastcall's
 * resolved timing, the grace period lastcall is told, the stop signal, and
 * what stands between the signal and node. Returns the timing, or undefined
 * when lastcall's options could not be resolved (reported as a finding).
 */
export function checkWorkload(w: Workload, app: AppSettings, findings: FindingList): { timing: StopTiming; budget: Budget } | undefined {
  let budget: Budget
  try {
    budget = resolveBudget(app, w.env)
  } catch (error) {
    if (!(error instanceof LastcallOptionError)) throw error
    findings.error(w.where, 'options-invalid', `lastcall would refuse its options in this environment: ${error.message}`, 'Fix the option or the environment variable it names; the app would throw at startup.')
    return undefined
  }
  const neededMs = w.beforeSignalMs + budget.timeoutMs + budget.marginMs
  const timing: StopTiming = {
    kind: w.kind,
    file: findings.file,
    where: w.where,
    gracePeriodMs: w.gracePeriodMs,
    gracePeriodFrom: w.gracePeriodFrom,
    beforeSignalMs: w.beforeSignalMs,
    stopSignal: w.stopSignal,
    timeoutMs: budget.timeoutMs,
    readinessDelayMinMs: budget.readinessDelayMinMs,
    readinessDelayMaxMs: budget.readinessDelayMaxMs,
    drainTimeoutMs: budget.drainTimeoutMs,
    hooksMs: budget.hooksMs,
    marginMs: budget.marginMs,
    neededMs,
  }
  const parts = `${w.beforeSignalMs > 0 ? `preStop ${seconds(w.beforeSignalMs)} + ` : ''}readiness delay up to ${seconds(budget.readinessDelayMaxMs)} + drain ${seconds(budget.drainTimeoutMs)} + hooks ${seconds(budget.hooksMs)} (timeoutMs ${seconds(budget.timeoutMs)}) + margin ${seconds(budget.marginMs)} = ${seconds(neededMs)}`

  if (w.gracePeriodMs !== null && w.gracePeriodMs < neededMs) {
    const available = w.gracePeriodMs - w.beforeSignalMs
    const fitTimeout = available - graceSafetyMarginMs(available)
    findings.error(
      w.where,
      'grace-period-short',
      `${w.gracePeriodFrom} (${seconds(w.gracePeriodMs)}) is shorter than ${parts}: the platform SIGKILLs the app ${seconds(neededMs - w.gracePeriodMs)} before lastcall's own bound.`,
      `Raise ${w.graceSetting} to at least ${w.graceValue(neededMs)}${fitTimeout > 0 ? `, or lower timeoutMs to at most ${fitTimeout} ms (the readiness delay and drain shrink with it)` : ''}.`,
    )
  }

  // The grace period lastcall is told (LASTCALL_GRACE_PERIOD_MS or gracePeriodMs) against the real one.
  const available = w.gracePeriodMs === null ? null : w.gracePeriodMs - w.beforeSignalMs
  if (available !== null && available !== Infinity) {
    if (budget.gracePeriodMs === undefined) {
      findings.warn(
        w.where,
        'grace-period-unknown',
        `lastcall is not told the grace period, so it can neither fit timeoutMs inside it nor check timeoutMs against it at startup.`,
        `Set LASTCALL_GRACE_PERIOD_MS=${available} in the app's environment${w.beforeSignalMs > 0 ? ` (${seconds(w.gracePeriodMs!)} minus the preStop ${seconds(w.beforeSignalMs)})` : ''}.`,
      )
    } else if (budget.gracePeriodMs !== available) {
      const fitsBelief = fitsGracePeriod(budget.timeoutMs, budget.gracePeriodMs)
      const fitsReally = fitsGracePeriod(budget.timeoutMs, available)
      const gets = `${available} ms${w.beforeSignalMs > 0 ? ` (${seconds(w.gracePeriodMs!)} minus the preStop ${seconds(w.beforeSignalMs)})` : ''}`
      const message = `lastcall works with a grace period of ${budget.gracePeriodMs} ms (LASTCALL_GRACE_PERIOD_MS, gracePeriodMs or its platform default) but the process gets ${gets}`
      const fix = `Set LASTCALL_GRACE_PERIOD_MS=${available}.`
      // Wrong in the dangerous direction: lastcall's own startup check passes when the real grace period does not fit.
      if (fitsBelief && !fitsReally) findings.error(w.where, 'grace-period-mismatch', `${message}: its startup check passes when it should warn.`, fix)
      else findings.warn(w.where, 'grace-period-mismatch', `${message}.`, fix)
    }
  }

  if (!budget.signals.includes(w.stopSignal)) {
    findings.error(
      w.where,
      'signal-unhandled',
      `The platform stops the app with ${w.stopSignal}, which lastcall does not handle (signals: ${budget.signals.join(', ') || 'none'}): node ${w.stopSignal === 'SIGKILL' ? 'is killed at once' : 'dies of it, or ignores it as PID 1 until SIGKILL'}, without a drain.`,
      `Stop with SIGTERM (handled by default), or add ${w.stopSignal} to lastcall's signals option.`,
    )
  }

  if (w.command && w.signalsMainOnly) {
    const v = startVerdict(w.command, w.scriptDirs)
    if (v.kind === 'shell') {
      findings.error(w.where, 'shell-no-forward', `${w.stopSignal} goes to a shell, not to node: ${v.detail}, and the shell does not pass the signal on (as PID 1 it ignores it until SIGKILL).`, 'Start node directly in exec form (`["node", "server.js"]`), or make the shell `exec node …`.')
    } else if (v.kind === 'package-manager') {
      findings.error(w.where, 'package-manager-pid1', `${w.stopSignal} goes to the package manager: ${v.detail}; npm exits on SIGTERM and node never sees it (measured with npm 11).`, 'Start node directly (`["node", "server.js"]`); keep npm scripts for development.')
    } else if (v.kind === 'wrapper-no-exec') {
      findings.error(w.where, 'wrapper-no-exec', `${w.stopSignal} goes to a wrapper script: ${v.detail}.`, 'End the script with `exec node server.js` (or `exec "$@"`), so node replaces the shell and receives the signal.')
    } else if (v.kind === 'wrapper-unknown') {
      findings.warn(w.where, 'wrapper-unknown', `${w.stopSignal} goes to ${v.detail}.`, 'Make sure it ends with `exec node …`, so node replaces the shell and receives the signal.')
    }
  }
  return { timing, budget }
}
