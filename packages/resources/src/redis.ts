import type { Cluster, Redis } from 'ioredis'
import type { RedisClientType } from 'redis'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed } from './errors.js'
import { gracefulOrHard, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** An ioredis client or cluster. */
export type IoredisLike = Pick<Redis | Cluster, 'quit' | 'disconnect' | 'status'>

/** A node-redis 5+ client (also fits its cluster and sentinel clients). */
export type NodeRedisLike = Pick<RedisClientType<any, any, any, any, any>, 'close' | 'destroy' | 'isOpen'>

function isIoredis(client: unknown): client is IoredisLike {
  const c = client as Record<string, unknown>
  return typeof c.quit === 'function' && typeof c.disconnect === 'function' && typeof c.status === 'string'
}

function isNodeRedis(client: unknown): client is NodeRedisLike {
  const c = client as Record<string, unknown>
  return typeof c.close === 'function' && typeof c.destroy === 'function' && typeof c.isOpen === 'boolean'
}

/**
 * Closes a Redis client in the `stores` phase.
 *
 * - ioredis: `quit()` (replies to commands already sent arrive first), falling
 *   back to `disconnect()` when the hook's signal aborts (its timeout).
 * - node-redis 5+: `close()` (waits for pending commands), falling back to `destroy()`.
 *
 * A client already closed, or whose close fails, is reported, not thrown.
 *
 * @example
 * closeRedis(shutdown, redis)
 */
export function closeRedis(host: ShutdownHost, client: IoredisLike | NodeRedisLike, options?: ResourceHookOptions): () => void {
  if (typeof client === 'object' && client !== null && isIoredis(client)) {
    return registerHook('closeRedis', host, options, { name: 'redis', phase: 'stores' }, async ({ signal }, name) => {
      // 'end': quit() or disconnect() already ran; 'wait': lazyConnect, never connected: nothing to say goodbye to.
      if (client.status === 'end') throw alreadyClosed(name, 'the ioredis client')
      if (client.status === 'wait') return client.disconnect()
      try {
        await gracefulOrHard(signal, () => client.quit(), () => client.disconnect())
      } catch (error) {
        throw closeFailed(name, 'quit()', error)
      }
    })
  }
  if (typeof client === 'object' && client !== null && isNodeRedis(client)) {
    return registerHook('closeRedis', host, options, { name: 'redis', phase: 'stores' }, async ({ signal }, name) => {
      if (!client.isOpen) throw alreadyClosed(name, 'the node-redis client')
      try {
        await gracefulOrHard(signal, () => client.close(), () => client.destroy())
      } catch (error) {
        throw closeFailed(name, 'close()', error)
      }
    })
  }
  throw new LastcallOptionError('closeRedis(client)', client, 'an ioredis client (quit, disconnect, status) or a node-redis 5+ client (close, destroy, isOpen)')
}
