import type { Channel, ChannelModel, ConsumeMessage, Options, Replies } from 'amqplib'
import type { HookContext } from '@lastcall/core'
import { LastcallOptionError } from '@lastcall/core'
import { alreadyClosed, closeFailed, cutOff } from './errors.js'
import { describeLateErrors, finishedBeforeDeadline, registerHook, SETTLE_MARGIN_MS, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

export interface AmqpConsumerOptions extends ResourceHookOptions {
  /**
   * The connection to close after the channel. Leave it out when other
   * channels still use it, and close it with its own hook.
   * @default undefined (only the channel is closed)
   */
  connection?: Pick<ChannelModel, 'close'>
}

/**
 * Handles one message. Ack or nack it (`channel.ack(message)`) before the
 * returned promise settles: the message counts as in hand until then.
 */
export type AmqpMessageHandler = (message: ConsumeMessage) => unknown

/**
 * A RabbitMQ consumer that shuts down without losing or repeating messages.
 * In the `intake` phase, which starts with the HTTP drain, it:
 *
 * 1. cancels its consumers, so the broker delivers nothing more to it: messages
 *    published from then on stay in the queue for the next consumer;
 * 2. waits until every message already delivered (prefetched ones included) has
 *    been handled, that is, its handler's promise settled after acking it;
 * 3. closes the channel, then the connection when given.
 *
 * When the hook's deadline comes first, the channel and connection are closed
 * just before it and the hook is reported as an error naming how many messages
 * were cut off: the broker requeues what was not acked, so nothing is lost, but
 * a message whose handler had done part of its work will be delivered again.
 * Messages consumed with `noAck: true` were never the broker's to requeue: those
 * in hand at the deadline are lost. A handler that goes on after the cut (its
 * `channel.ack()` now throws) does not crash the process: its error is kept in
 * {@link AmqpConsumer.cutOffErrors}.
 */
export class AmqpConsumer {
  readonly #channel: Channel
  readonly #connection: Pick<ChannelModel, 'close'> | undefined
  readonly #tags = new Set<string>()
  #inHand = 0
  #idle: (() => void) | undefined
  #stopping = false
  #closed = false
  #cut = false
  readonly #cutOffErrors: unknown[] = []

  constructor(host: ShutdownHost, channel: Channel, options?: AmqpConsumerOptions) {
    if (typeof channel !== 'object' || channel === null || typeof channel.consume !== 'function' || typeof channel.cancel !== 'function') {
      throw new LastcallOptionError('AmqpConsumer(channel)', channel, 'an amqplib Channel (from connection.createChannel())')
    }
    const connection = options?.connection
    if (connection !== undefined && (typeof connection !== 'object' || connection === null || typeof connection.close !== 'function')) {
      throw new LastcallOptionError('AmqpConsumer(options).connection', connection, 'an amqplib connection (from amqplib.connect())')
    }
    this.#channel = channel
    this.#connection = connection
    channel.once('close', () => {
      this.#closed = true
    })
    registerHook('AmqpConsumer', host, options, { name: 'amqp', phase: 'intake' }, (context, name) => this.#shutdown(context, name), ['connection'])
  }

  /** Messages delivered to a handler whose promise has not settled yet. */
  get inHand(): number {
    return this.#inHand
  }

  /**
   * Errors thrown by handlers after the shutdown closed the channel under them
   * at the hook's deadline (typically `channel.ack()` on a closed channel).
   * They are kept here rather than left unhandled, which would kill the process
   * in the middle of its drain.
   */
  get cutOffErrors(): readonly unknown[] {
    return this.#cutOffErrors
  }

  /** Whether the shutdown has stopped this consumer's intake. */
  get stopping(): boolean {
    return this.#stopping
  }

  /**
   * `channel.consume()` with the handler tracked: each message is in hand
   * from delivery until the handler's promise settles. A handler's rejection
   * is left unhandled, as it would be without this wrapper, except after the
   * shutdown cut the handler off (see {@link AmqpConsumer.cutOffErrors}).
   */
  async consume(queue: string, handler: AmqpMessageHandler, options?: Options.Consume): Promise<Replies.Consume> {
    if (typeof handler !== 'function') throw new LastcallOptionError('consume(handler)', handler, 'a function (message) => unknown')
    if (this.#stopping) throw new LastcallOptionError('consume(queue)', queue, 'a call made before the shutdown started')
    const reply = await this.#channel.consume(queue, (message) => {
      // null: the broker cancelled the consumer (queue deleted); nothing to handle.
      if (message === null) return
      this.#inHand++
      void Promise.resolve()
        .then(() => handler(message))
        .catch((error: unknown) => {
          if (!this.#cut) throw error
          this.#cutOffErrors.push(error)
        })
        .finally(() => this.#release())
    }, options)
    this.#tags.add(reply.consumerTag)
    return reply
  }

  #release(): void {
    this.#inHand--
    if (this.#inHand === 0) this.#idle?.()
  }

  async #shutdown(context: HookContext, name: string): Promise<void> {
    const { signal } = context
    if (this.#closed) throw alreadyClosed(name, 'the amqp channel')
    this.#stopping = true
    const hard = (): void => {
      this.#cut = true
      this.#channel.close().catch(() => {})
      this.#connection?.close().catch(() => {})
    }
    signal.addEventListener('abort', hard, { once: true })
    try {
      try {
        // Deliveries sent before each cancel-ok have reached the handler by the time it resolves.
        for (const tag of this.#tags) await this.#channel.cancel(tag)
        this.#tags.clear()
      } catch (error) {
        throw closeFailed(name, 'channel.cancel()', error)
      }
      if (this.#inHand > 0) {
        const idle = new Promise<void>((resolve) => {
          this.#idle = resolve
        })
        if (!(await finishedBeforeDeadline(context, idle))) {
          const inHand = this.#inHand
          hard()
          // Handlers waiting on the channel settle once it is gone: their errors then make the report.
          await finishedBeforeDeadline(context, idle, SETTLE_MARGIN_MS)
          throw cutOff(name, `${inHand} message(s) still in hand; the channel was closed under them, so the broker requeues the unacked ones (messages consumed with noAck are lost)${describeLateErrors(this.#cutOffErrors)}`)
        }
      }
      try {
        await this.#channel.close()
      } catch (error) {
        throw closeFailed(name, 'channel.close()', error)
      }
      try {
        await this.#connection?.close()
      } catch (error) {
        throw closeFailed(name, 'connection.close()', error)
      }
    } finally {
      signal.removeEventListener('abort', hard)
    }
  }
}

/**
 * Creates an {@link AmqpConsumer} and registers its shutdown hook.
 *
 * @example
 * const consumer = createAmqpConsumer(shutdown, channel, { connection })
 * await consumer.consume('jobs', async (msg) => { await work(msg); channel.ack(msg) })
 */
export function createAmqpConsumer(host: ShutdownHost, channel: Channel, options?: AmqpConsumerOptions): AmqpConsumer {
  return new AmqpConsumer(host, channel, options)
}
