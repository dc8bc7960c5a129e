import type { Lease } from 'etcd3'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed } from './errors.js'
import { deregistrationFailed } from './discovery.js'
import { registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** The part of an `etcd3` Lease the hook uses. */
export type EtcdLeaseLike = Pick<Lease, 'revoke' | 'revoked'>

/**
 * Revokes this instance's etcd lease in the `deregister` phase, which starts
 * with the readiness delay: every key attached to the lease (the instance's
 * registration) is deleted at once, and watchers see the delete, instead of
 * waiting for the lease's TTL to run out. A revoke that fails (etcd down or
 * unreachable) is reported and the shutdown goes on; the keys then expire
 * with the lease's TTL. A lease revoked or lost earlier is reported too.
 *
 * @example
 * const lease = etcd.lease(10)
 * await lease.put(`services/api/${instanceId}`).value(address)
 * revokeEtcdLease(shutdown, lease)
 */
export function revokeEtcdLease(host: ShutdownHost, lease: EtcdLeaseLike, options?: ResourceHookOptions): () => void {
  if (typeof lease !== 'object' || lease === null || typeof lease.revoke !== 'function' || typeof lease.revoked !== 'function') {
    throw new LastcallOptionError('revokeEtcdLease(lease)', lease, 'an etcd3 Lease (client.lease(ttl))')
  }
  return registerHook('revokeEtcdLease', host, options, { name: 'etcd', phase: 'deregister' }, async (context, name) => {
    if (lease.revoked()) throw alreadyClosed(name, 'the etcd lease')
    try {
      // etcd3 hands the call options to gRPC, whose deadline is wall-clock: the hook's time left from now.
      await lease.revoke({ deadline: Date.now() + context.timeLeftMs })
    } catch (error) {
      throw deregistrationFailed(name, error)
    }
  })
}
