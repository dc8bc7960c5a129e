import { LastcallOptionError } from '@lastcall/core'
import { closeFailed } from './errors.js'
import { gracefulOrHard, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/**
 * The part of a `memjs` Client the hook uses (structural, so `@types/memjs`
 * is not needed to use the helper).
 */
export interface MemjsClientLike {
  readonly servers: readonly unknown[]
  stats(callback: (error: Error | null, server: string, stats: Record<string, string> | null) => void): void
  quit(): void
  close(): void
}

/** One request to every server: memcached answers in order, so every reply to what was sent before is in. */
function roundTrip(client: MemjsClientLike): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = client.servers.length
    if (left === 0) return resolve()
    client.stats((error) => {
      if (error) return reject(error)
      if (--left === 0) resolve()
    })
  })
}

/**
 * Closes a `memjs` client in the `stores` phase: one round trip to every
 * server (a `stats` request; memcached answers in order, so replies to the
 * commands already sent arrive first), then `quit()`, which tells each server
 * goodbye and closes the connection once it answers. A server that does not
 * answer (down, unreachable) is reported as an error, and `close()` drops the
 * connections; one that hangs is bounded by the hook's timeout, then closed
 * the same way.
 *
 * @example
 * closeMemcached(shutdown, memjs.Client.create('127.0.0.1:11211'))
 */
export function closeMemcached(host: ShutdownHost, client: MemjsClientLike, options?: ResourceHookOptions): () => void {
  if (typeof client !== 'object' || client === null || typeof client.quit !== 'function' || typeof client.close !== 'function' || !Array.isArray(client.servers)) {
    throw new LastcallOptionError('closeMemcached(client)', client, 'a memjs Client (memjs.Client.create())')
  }
  return registerHook('closeMemcached', host, options, { name: 'memcached', phase: 'stores' }, async ({ signal }, name) => {
    try {
      await gracefulOrHard(signal, async () => {
        await roundTrip(client)
        client.quit()
      }, () => client.close())
    } catch (error) {
      client.close()
      throw closeFailed(name, 'the last round trip before quit()', error)
    }
  })
}
