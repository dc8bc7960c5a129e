import { fitsGracePeriod, graceSafetyMarginMs, minimumGracePeriodMs } from './graceMargin.js'
import type { ResolvedOptions } from './options.js'

/** An option combination that is valid but cannot work as meant, with the numbers for the log line. */
export interface OptionWarning {
  message: string
  fields: Record<string, unknown>
}

/**
 * The warnings the controller logs at creation: options that each pass
 * validation but do not work together. Pure: it reads only the resolved
 * options, so each case is tested without a controller. Options this cannot
 * reconcile by itself are kept (the user's choice holds) and said here.
 */
export function optionWarnings(o: Pick<ResolvedOptions, 'timeoutMs' | 'gracePeriodMs' | 'idleLingerMs' | 'drainTimeoutMs'>): OptionWarning[] {
  const warnings: OptionWarning[] = []
  const { gracePeriodMs, timeoutMs, idleLingerMs, drainTimeoutMs } = o
  // The platform would SIGKILL the process before timeoutMs gives up (see gracePeriodMs).
  if (gracePeriodMs !== undefined && !fitsGracePeriod(timeoutMs, gracePeriodMs)) {
    const safetyMarginMs = graceSafetyMarginMs(gracePeriodMs)
    warnings.push({
      message:
        `timeoutMs (${timeoutMs} ms) + safety margin (${safetyMarginMs} ms) = ${timeoutMs + safetyMarginMs} ms does not fit in the platform's grace period ` +
        `(gracePeriodMs ${gracePeriodMs} ms): the process may be killed before its shutdown ends. Lower timeoutMs to at most ` +
        `${Math.max(0, gracePeriodMs - safetyMarginMs)} ms or raise the grace period to at least ${minimumGracePeriodMs(timeoutMs)} ms`,
      fields: { timeoutMs, gracePeriodMs, safetyMarginMs },
    })
  }
  // Idle connections could never close by themselves within the drain (see idleLingerMs).
  if (idleLingerMs > drainTimeoutMs) {
    warnings.push({
      message:
        `idleLingerMs (${idleLingerMs} ms) is above drainTimeoutMs (${drainTimeoutMs} ms): every connection still idle at the drain is cut at the deadline ` +
        `and counted as forced, so the shutdown exits 1. Lower idleLingerMs below ${drainTimeoutMs} ms or raise drainTimeoutMs above ${idleLingerMs} ms`,
      fields: { idleLingerMs, drainTimeoutMs },
    })
  }
  return warnings
}
