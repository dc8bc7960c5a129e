/**
 * The timers lastcall uses, injectable so tests can drive time by hand.
 * Timers are `unref()`ed unless `keepAlive` is set: only the bound on a
 * running shutdown holds the process open, so that a hook awaiting a promise
 * with nothing else behind it cannot let Node exit early with code 0 and no report.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; only differences are used. */
  now(): number
  setTimeout(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export type TimerHandle = unknown

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms, keepAlive = false) {
    const timer = setTimeout(fn, ms)
    if (!keepAlive) timer.unref()
    return timer
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clock.clearTimeout(handle)
      reject(signal?.reason)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
