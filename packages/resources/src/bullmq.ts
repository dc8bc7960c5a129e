import type { Worker } from 'bullmq'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed } from './errors.js'
import { registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** The part of a BullMQ Worker the hook uses. */
export type BullWorkerLike = Pick<Worker<any, any, string>, 'close' | 'closing'>

/**
 * Closes a BullMQ Worker in the `intake` phase, which starts with the HTTP
 * drain: it takes no new job and `close()` waits for the jobs it is running
 * to finish, so they complete (and write) before the `stores` phase closes
 * the database and Redis. A job still running at the hook's timeout keeps its
 * lock until it expires; BullMQ then hands it to another worker as stalled.
 * A worker already closed, or whose close fails, is reported, not thrown.
 *
 * @example
 * closeBullWorker(shutdown, worker, { timeoutMs: 30_000 })
 */
export function closeBullWorker(host: ShutdownHost, worker: BullWorkerLike, options?: ResourceHookOptions): () => void {
  if (typeof worker !== 'object' || worker === null || typeof worker.close !== 'function') {
    throw new LastcallOptionError('closeBullWorker(worker)', worker, 'a BullMQ Worker')
  }
  return registerHook('closeBullWorker', host, options, { name: 'bullmq', phase: 'intake' }, async (_context, name) => {
    // `closing` is set by the first close(): someone else closed it before the shutdown did.
    if (worker.closing !== undefined) throw alreadyClosed(name, 'the BullMQ worker')
    try {
      await worker.close()
    } catch (error) {
      throw closeFailed(name, 'worker.close()', error)
    }
  })
}
