import type { Pool } from 'pg'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed } from './errors.js'
import { registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/**
 * The part of a `pg` Pool (or `pg-pool`) the hook uses. `ending` and `ended`
 * are optional: `@types/pg` declares them only from 8.11.10 on, and a pool
 * typed by an older one is still a pool.
 */
export type PgPoolLike = Pick<Pool, 'end'> & {
  /** True once `end()` was called. */
  readonly ending?: boolean
  /** True once the pool has ended. */
  readonly ended?: boolean
}

/**
 * Ends a `pg` Pool in the `stores` phase: after the HTTP drain and the
 * `intake` phase, so no handler or consumer is still using it. `pool.end()`
 * waits for checked-out clients to be released and refuses new checkouts.
 * A pool already ended, or one whose `end()` fails, is reported, not thrown.
 * When a client stays checked out past the hook's timeout (a query waiting on
 * a lock), the hook is reported as timed out and the rest of the shutdown goes on.
 *
 * @example
 * closePgPool(shutdown, pool)
 */
export function closePgPool(host: ShutdownHost, pool: PgPoolLike, options?: ResourceHookOptions): () => void {
  if (typeof pool !== 'object' || pool === null || typeof pool.end !== 'function') {
    throw new LastcallOptionError('closePgPool(pool)', pool, 'a pg Pool')
  }
  return registerHook('closePgPool', host, options, { name: 'pg', phase: 'stores' }, async (_context, name) => {
    if (pool.ending || pool.ended) throw alreadyClosed(name, 'the pg pool')
    try {
      await pool.end()
    } catch (error) {
      throw closeFailed(name, 'pool.end()', error)
    }
  })
}
