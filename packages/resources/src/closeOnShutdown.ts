import { LastcallOptionError } from '@lastcall/core'
import { closeFailed, alreadyClosed } from './errors.js'
import { gracefulOrHard, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

/** The methods, in the order they are looked for, that close a resource. */
export const CLOSE_METHODS = ['close', 'end', 'quit', 'disconnect'] as const
export type CloseMethod = (typeof CLOSE_METHODS)[number]

/** Anything with at least one of `close`, `end`, `quit`, `disconnect`. */
export type Closeable =
  | { close(): unknown }
  | { end(): unknown }
  | { quit(): unknown }
  | { disconnect(): unknown }

export interface CloseOnShutdownOptions<R> extends ResourceHookOptions {
  /**
   * The method to call. Its result is awaited when it is a promise.
   * @default the first of close, end, quit, disconnect that the resource has
   */
  method?: CloseMethod
  /**
   * Tells whether the resource is already closed; the hook then reports it
   * instead of closing it again.
   * @default undefined (not checked)
   */
  isClosed?: (resource: R) => boolean
  /**
   * A hard close, called when the hook's signal aborts (its timeout) while the
   * graceful close is still pending, so the connection does not outlive the shutdown.
   * @default undefined (nothing: the process exits with the connection open)
   */
  force?: (resource: R) => void
}

/**
 * Closes anything with `close`/`end`/`quit`/`disconnect` during shutdown, in
 * the `stores` phase unless told otherwise. A failure or an already closed
 * resource is reported in the shutdown report, never thrown past it.
 *
 * @example
 * closeOnShutdown(shutdown, mongoClient, { name: 'mongo' })
 */
export function closeOnShutdown<R extends Closeable>(host: ShutdownHost, resource: R, options?: CloseOnShutdownOptions<R>): () => void {
  if (typeof resource !== 'object' || resource === null) {
    throw new LastcallOptionError('closeOnShutdown(resource)', resource, `an object with one of ${CLOSE_METHODS.join(', ')}`)
  }
  const target = resource as unknown as Record<string, unknown>
  const method = options?.method ?? CLOSE_METHODS.find((m) => typeof target[m] === 'function')
  if (method === undefined || !CLOSE_METHODS.includes(method) || typeof target[method] !== 'function') {
    throw new LastcallOptionError(options?.method === undefined ? 'closeOnShutdown(resource)' : 'closeOnShutdown(options).method', options?.method ?? resource, `one of ${CLOSE_METHODS.join(', ')} that the resource has`)
  }
  const { isClosed, force } = options ?? {}
  if (isClosed !== undefined && typeof isClosed !== 'function') throw new LastcallOptionError('closeOnShutdown(options).isClosed', isClosed, 'a function (resource) => boolean')
  if (force !== undefined && typeof force !== 'function') throw new LastcallOptionError('closeOnShutdown(options).force', force, 'a function (resource) => void')
  return registerHook('closeOnShutdown', host, options, { name: 'resource', phase: 'stores' }, async ({ signal }, name) => {
    if (isClosed?.(resource)) throw alreadyClosed(name, 'the resource')
    try {
      await gracefulOrHard(
        signal,
        () => (target[method] as () => unknown).call(resource),
        () => force?.(resource),
      )
    } catch (error) {
      throw closeFailed(name, `${method}()`, error)
    }
  }, ['method', 'isClosed', 'force'])
}
