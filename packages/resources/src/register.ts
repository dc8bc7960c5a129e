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
  if (typeof host !== 'object' || host === null || typeof host.onShutdown !== 'function') {
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
