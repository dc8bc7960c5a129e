import { LastcallOptionError, type HookContext, type HookOptions, type ShutdownHook } from '@lastcall/core'

/**
 * What a helper needs from the controller: `onShutdown`. A `ShutdownController`
 * from `@lastcall/core` (or any adapter that re-exports it) fits.
 */
export interface ShutdownHost {
  onShutdown(name: string, fn: ShutdownHook, options?: HookOptions): () => void
}

/** Options every helper accepts. */
export interface ResourceHookOptions {
  /**
   * The hook's name in the report. Must be unique per controller: give each
   * of two pools its own.
   * @default the helper's ('pg', 'redis', 'bullmq', 'amqp', 'pino', 'resource')
   */
  name?: string
  /**
   * The cleanup phase the hook runs in, one of the controller's phases.
   * @default the helper's: 'intake' for consumers, 'stores' for pools and caches, 'telemetry' for logs
   */
  phase?: string
  /**
   * How long closing may take before the hook is reported as timed out (its
   * signal aborts and the helper falls back to a hard close where the client has one).
   * @default the controller's `hookTimeoutMs` (5000)
   */
  timeoutMs?: number
}

const KEYS = new Set(['name', 'phase', 'timeoutMs'])

/** Validates the shared options (plus `extra` keys the caller checks itself) and registers the hook. */
export function registerHook(
  where: string,
  host: ShutdownHost,
  options: ResourceHookOptions | undefined,
  defaults: { name: string; phase: string },
  fn: (context: HookContext, name: string) => Promise<void>,
  extra: readonly string[] = [],
): () => void {
  // The Express and Koa adapters' controller is a middleware function that is also the controller (withController).
  if ((typeof host !== 'object' && typeof host !== 'function') || host === null || typeof host.onShutdown !== 'function') {
    throw new LastcallOptionError(`${where}(controller)`, host, 'a shutdown controller (createShutdown() from @lastcall/core)')
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new LastcallOptionError(`${where}(options)`, options, 'an object { name?, phase?, timeoutMs? }')
  }
  const o = options ?? {}
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key) && !extra.includes(key)) {
      throw new LastcallOptionError(`${where}(options).${key}`, (o as Record<string, unknown>)[key], `one of the known options (${[...KEYS, ...extra].join(', ')})`)
    }
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw new LastcallOptionError(`${where}(options).name`, o.name, 'a string')
  if (o.phase !== undefined && typeof o.phase !== 'string') throw new LastcallOptionError(`${where}(options).phase`, o.phase, 'a phase name')
  const name = o.name ?? defaults.name
  const hookOptions: HookOptions = { phase: o.phase ?? defaults.phase }
  // Core validates name, phase and timeoutMs and names what it received.
  if (o.timeoutMs !== undefined) hookOptions.timeoutMs = o.timeoutMs
  return host.onShutdown(name, (context) => fn(context, name), hookOptions)
}

/**
 * Runs `graceful` and, if the hook's signal aborts first (its timeout or the
 * shutdown's), runs `hard` so the connection does not outlive the shutdown.
 * The graceful promise's late rejection is swallowed: the report already says timeout.
 */
export async function gracefulOrHard(signal: AbortSignal, graceful: () => unknown, hard: () => void): Promise<void> {
  if (signal.aborted) {
    hard()
    return
  }
  const pending = Promise.resolve().then(graceful)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    const outcome = await Promise.race([pending, aborted])
    if (outcome === 'aborted') {
      pending.catch(() => {})
      hard()
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * How long before its deadline a helper stops waiting for work in hand and
 * closes hard: enough for the hard close and its report to land before core
 * times the hook out, so the report says what was cut off.
 */
export function cutOffMarginMs(timeLeftMs: number): number {
  return Math.min(200, Math.floor(timeLeftMs / 10))
}

/**
 * Waits for `work` until `marginMs` before the hook's deadline (or its signal
 * aborting). Resolves `true` when the work finished, `false` when it was cut off.
 */
export async function finishedBeforeDeadline(context: HookContext, work: Promise<unknown>, marginMs?: number): Promise<boolean> {
  const { signal } = context
  if (signal.aborted) return false
  const left = context.timeLeftMs
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const cut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, left - (marginMs ?? cutOffMarginMs(left))))
    onAbort = () => resolve(false)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work.then(() => true), cut])
  } finally {
    clearTimeout(timer)
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/** After a hard close: how long before the deadline to stop waiting for cut-off work to settle. */
export const SETTLE_MARGIN_MS = 20

/** "2 handler(s) then failed: Error: x; Error: y" for a report line, or '' when none failed. */
export function describeLateErrors(errors: readonly unknown[]): string {
  if (errors.length === 0) return ''
  const shown = errors.slice(0, 3).map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)))
  return `; ${errors.length} of them then failed (${shown.join('; ')}${errors.length > 3 ? '; ...' : ''}), reported here instead of crashing the process`
}
