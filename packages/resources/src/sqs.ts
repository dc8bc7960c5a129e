import type { Consumer } from 'sqs-consumer'
import type { HookContext } from '@lastcall/core'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed, cutOff } from './errors.js'
import { describeLateErrors, finishedBeforeDeadline, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** The part of an `sqs-consumer` Consumer the hook uses. */
export type SqsConsumerLike = Pick<Consumer, 'stop' | 'status' | 'on'>

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message))
}

/**
 * Stops an `sqs-consumer` Consumer in the `intake` phase, which starts with
 * the HTTP drain:
 *
 * 1. no new receive is made; a long poll still waiting for messages is
 *    aborted (whatever SQS had just handed it becomes visible again after its
 *    visibility timeout);
 * 2. the messages already received are handled and deleted (sqs-consumer
 *    deletes each one after its handler returned it);
 * 3. a message whose handler fails, or is still running at the hook's
 *    deadline, is never deleted: SQS delivers it again once its visibility
 *    timeout ends.
 *
 * At the deadline the hook is reported as cut off with the number of
 * messages still in hand (their handlers go on until the process exits, but
 * nothing deletes their messages unless a handler finishes first). A delete that fails
 * (SQS unreachable) is reported as an error naming how many messages will be
 * delivered again. Errors the consumer emits during the shutdown are caught
 * and reported, never fatal.
 *
 * Register the hook before `consumer.start()`, so every message is seen.
 *
 * @example
 * const consumer = Consumer.create({ queueUrl, sqs, handleMessage: async (m) => { await work(m); return m } })
 * closeSqsConsumer(shutdown, consumer)
 * consumer.start()
 */
export function closeSqsConsumer(host: ShutdownHost, consumer: SqsConsumerLike, options?: ResourceHookOptions): () => void {
  if (typeof consumer !== 'object' || consumer === null || typeof consumer.stop !== 'function' || typeof consumer.on !== 'function') {
    throw new LastcallOptionError('closeSqsConsumer(consumer)', consumer, 'an sqs-consumer Consumer (Consumer.create())')
  }
  // One receive at a time: count what the current one handed out and what of it has settled.
  let received = 0
  let settled = 0
  let cycleOver: (() => void) | undefined
  const failures: unknown[] = []
  const endCycle = (): void => {
    received = 0
    settled = 0
    cycleOver?.()
  }
  consumer.on('message_received', () => received++)
  consumer.on('message_processed', () => settled++)
  consumer.on('processing_error', () => settled++)
  consumer.on('timeout_error', () => settled++)
  consumer.on('response_processed', endCycle)
  consumer.on('empty', endCycle)

  return registerHook('closeSqsConsumer', host, options, { name: 'sqs', phase: 'intake' }, async (context: HookContext, name) => {
    if (!consumer.status.isRunning) throw alreadyClosed(name, 'the SQS consumer')
    // From here on, errors are the shutdown's to report (listening also keeps an unheard 'error' from crashing the process).
    consumer.on('error', (error, message) => {
      if (message !== undefined) settled += Array.isArray(message) ? message.length : 1
      if (!isAbort(error)) failures.push(error)
      // A failed receive ends the cycle; so does the receive the shutdown aborted.
      if (message === undefined) endCycle()
    })
    const polling = consumer.status.isPolling
    // Nothing received yet in this cycle: the poll is still waiting on SQS, so cut it short. Otherwise no
    // abort: it would cancel the deletes of the messages being finished.
    consumer.stop({ abort: polling && received === 0 })
    if (polling && consumer.status.isPolling) {
      const over = new Promise<void>((resolve) => {
        cycleOver = resolve
      })
      if (!(await finishedBeforeDeadline(context, over))) {
        // A delete still under way may yet land, which is right: its message was handled.
        throw cutOff(name, `${received - settled} message(s) still in hand; none of them was deleted, so SQS delivers them again when their visibility timeout ends${describeLateErrors(failures)}`)
      }
    }
    if (failures.length > 0) {
      throw closeFailed(name, `deleting the handled messages (${failures.length} error(s); those messages are delivered again after their visibility timeout)`, failures[0])
    }
  })
}
