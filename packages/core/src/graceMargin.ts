/**
 * The room `timeoutMs` leaves inside the platform's grace period, and the
 * grace period a `timeoutMs` needs. One rule, used by the platform defaults
 * (`platform.ts`), the grace-period warning (`optionWarnings`) and the CLI's
 * deployment-file checks, so they cannot disagree.
 */

/** The largest safety margin: what a grace period of 4 s or more leaves after `timeoutMs`. */
export const GRACE_SAFETY_MARGIN_MS = 1000

/**
 * How much of a grace period lastcall leaves unused after its own
 * `timeoutMs`: `min(1000, gracePeriodMs / 4)`, rounded down to a whole
 * millisecond. The whole cap (1000) when the grace period is unknown.
 *
 * Why: the platform's clock starts when it sends its stop signal, lastcall's
 * when the controller's handler runs; after `timeoutMs` fires, the process
 * still builds and logs its report, calls `process.exit` and is torn down
 * before the platform sees it gone. Measured end to end on a loaded 2-core
 * machine (`bench/exit-margin`, docs/platforms.md), that overshoot was at
 * most 226 ms in 130 runs of a small app (median about 30 ms); tearing down a
 * 200 MB heap on a starved machine took up to about 1 s. 1000 ms covers the
 * small app four times over, with room for a long GC pause or
 * a logger that flushes slowly, where the grace period can spare it (Docker's
 * 10 s, Kubernetes' 30 s). A short grace period cannot: PM2's default
 * `kill_timeout` of 1600 ms minus a fixed second left 600 ms for the
 * readiness delay, the drain and the hooks together. A quarter of it (400 ms)
 * still covers a small app's worst exit measured almost twice, and leaves
 * 1200 ms of work. Below a grace period of about 0.9 s the quarter falls
 * under that measured worst case: such a grace period is not reliably met.
 */
export function graceSafetyMarginMs(gracePeriodMs?: number): number {
  if (gracePeriodMs === undefined) return GRACE_SAFETY_MARGIN_MS
  return Math.min(GRACE_SAFETY_MARGIN_MS, Math.floor(gracePeriodMs / 4))
}

/** Whether `timeoutMs` plus the safety margin fits inside `gracePeriodMs`. */
export function fitsGracePeriod(timeoutMs: number, gracePeriodMs: number): boolean {
  return timeoutMs + graceSafetyMarginMs(gracePeriodMs) <= gracePeriodMs
}

/**
 * The shortest grace period `timeoutMs` fits in (the inverse of
 * `graceSafetyMarginMs`): `timeoutMs + 1000` from a `timeoutMs` of 3000 up,
 * about four thirds of it below.
 */
export function minimumGracePeriodMs(timeoutMs: number): number {
  // What a grace period leaves for timeoutMs never shrinks as it grows, and timeoutMs + the cap always fits.
  let low = Math.max(1, timeoutMs)
  let high = timeoutMs + GRACE_SAFETY_MARGIN_MS
  while (low < high) {
    const mid = Math.floor((low + high) / 2)
    if (fitsGracePeriod(timeoutMs, mid)) high = mid
    else low = mid + 1
  }
  return low
}
