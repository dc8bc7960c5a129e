import type { Worker } from 'bullmq'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed, cutOff } from './errors.js'
import { describeLateErrors, finishedBeforeDeadline, registerHook, SETTLE_MARGIN_MS, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** The part of a BullMQ Worker the hook uses. */
export type BullWorkerLike = Pick<Worker<any, any, string>, 'close' | 'closing' | 'pause' | 'on'>

/**
 * Closes a BullMQ Worker in the `intake` phase, which starts with the HTTP
 * drain: it pauses the worker (no new job is taken) and waits for the jobs it
 * is running, so they complete (and write) before the `stores` phase closes
 * the database and Redis; then it closes the worker.
 *
 * A job still running shortly before the hook's deadline is cut off: the
 * worker is force-closed (`worker.close(true)`), which stops renewing the
 * job's lock and closes the worker's Redis connections, so the job cannot be
 * marked completed or failed from here. It stays active until its lock lapses
 * (`lockDuration`, 30 s by default); another worker's stalled check then puts
 * it back in the queue and it runs again there (a job stalled more than
 * `maxStalledCount` times, 1 by default, is failed instead). Whatever that
 * job had already written is written twice unless the job is idempotent. The
 * hook is reported as an error that says so; errors the force-closed worker
 * emits afterwards are caught and reported in the same line, never fatal.
 * A worker already closed, or whose close fails, is reported, not thrown.
 *
 * @example
 * closeBullWorker(shutdown, worker, { timeoutMs: 30_000 })
 */
export function closeBullWorker(host: ShutdownHost, worker: BullWorkerLike, options?: ResourceHookOptions): () => void {
  if (typeof worker !== 'object' || worker === null || typeof worker.close !== 'function' || typeof worker.pause !== 'function') {
    throw new LastcallOptionError('closeBullWorker(worker)', worker, 'a BullMQ Worker')
  }
  return registerHook('closeBullWorker', host, options, { name: 'bullmq', phase: 'intake' }, async (context, name) => {
    // `closing` is set by the first close(): someone else closed it before the shutdown did.
    if (worker.closing !== undefined) throw alreadyClosed(name, 'the BullMQ worker')
    let finished: boolean
    try {
      // pause() takes no new job and resolves once the running ones finished; close() would do the same,
      // but a second close(true) cannot force a close already under way, and pause() leaves that open.
      finished = await finishedBeforeDeadline(context, worker.pause())
    } catch (error) {
      throw closeFailed(name, 'worker.pause()', error)
    }
    if (!finished) {
      const errors: unknown[] = []
      worker.on('error', (error) => errors.push(error))
      const forced = worker.close(true)
      forced.catch(() => {})
      await finishedBeforeDeadline(context, forced, SETTLE_MARGIN_MS)
      throw cutOff(name, `jobs still running; the worker was force-closed, so each goes back to the queue as stalled once its lock lapses (lockDuration) and another worker runs it again${describeLateErrors(errors)}`)
    }
    try {
      await worker.close()
    } catch (error) {
      throw closeFailed(name, 'worker.close()', error)
    }
  })
}
