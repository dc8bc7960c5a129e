import type { Consumer, ConsumerRunConfig, EachBatchPayload, EachMessagePayload, Producer } from 'kafkajs'
import type { HookContext } from '@lastcall/core'
import { LastcallOptionError } from '@lastcall/core'
import { closeFailed, cutOff } from './errors.js'
import { describeLateErrors, finishedBeforeDeadline, gracefulOrHard, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** The part of a kafkajs Consumer the helper uses. */
export type KafkaConsumerLike = Pick<Consumer, 'run' | 'pause' | 'commitOffsets' | 'disconnect' | 'on' | 'events'>

/** The part of a kafkajs Producer the hook uses. */
export type KafkaProducerLike = Pick<Producer, 'disconnect'>

/**
 * A kafkajs consumer that leaves its group without losing or repeating a
 * message. Call `run()` on this object instead of on the consumer. In the
 * `intake` phase, which starts with the HTTP drain, it:
 *
 * 1. pauses every partition it was assigned, so nothing more is fetched or
 *    handed to `eachMessage`/`eachBatch`;
 * 2. waits until every handler call already under way has finished;
 * 3. commits exactly the offsets of the messages whose handler finished (with
 *    `eachBatch`: the offsets you resolved, and the batch's last one when
 *    `eachBatchAutoResolve` is on), unless `autoCommit` is off;
 * 4. disconnects, which stops the consumer and leaves the group, so the
 *    partitions move to the other members at once.
 *
 * Messages fetched but not yet handed to a handler are not committed: the
 * group's next owner of the partition gets them. When the hook's deadline
 * comes first, the handlers still running are cut off: the finished offsets
 * are committed, nothing of the cut-off messages is, and the report says how
 * many were in hand. This member then never leaves the group, so its
 * partitions move on only after the group's `sessionTimeout`; the cut-off
 * messages are delivered again there. What a cut-off handler does later,
 * error or success, resolves no offset.
 */
export class KafkaConsumer {
  readonly #consumer: KafkaConsumerLike
  /** Per `topic\0partition`: the offset of the last message whose handling finished. */
  readonly #finished = new Map<string, bigint>()
  readonly #assigned = new Set<string>()
  readonly #cutOffErrors: unknown[] = []
  #inHand = 0
  #idle: (() => void) | undefined
  #stopping = false
  #cut = false
  #autoCommit = true

  constructor(host: ShutdownHost, consumer: KafkaConsumerLike, options?: ResourceHookOptions) {
    if (typeof consumer !== 'object' || consumer === null || typeof consumer.run !== 'function' || typeof consumer.commitOffsets !== 'function') {
      throw new LastcallOptionError('KafkaConsumer(consumer)', consumer, 'a kafkajs Consumer (from kafka.consumer({ groupId }))')
    }
    this.#consumer = consumer
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.#assigned.clear()
      for (const topic of Object.keys(event.payload.memberAssignment)) this.#assigned.add(topic)
    })
    registerHook('KafkaConsumer', host, options, { name: 'kafka', phase: 'intake' }, (context, name) => this.#shutdown(context, name))
  }

  /** Handler calls (`eachMessage` or `eachBatch`) under way. */
  get inHand(): number {
    return this.#inHand
  }

  /** Whether the shutdown has stopped this consumer's intake. */
  get stopping(): boolean {
    return this.#stopping
  }

  /** Errors thrown by handlers after the shutdown cut them off at the hook's deadline. */
  get cutOffErrors(): readonly unknown[] {
    return this.#cutOffErrors
  }

  /** `consumer.run()` with every handler call tracked, so the shutdown knows what is in hand and what finished. */
  run(config: ConsumerRunConfig): Promise<void> {
    if (typeof config !== 'object' || config === null || (typeof config.eachMessage !== 'function' && typeof config.eachBatch !== 'function')) {
      throw new LastcallOptionError('KafkaConsumer.run(config)', config, 'an object with eachMessage or eachBatch')
    }
    this.#autoCommit = config.autoCommit !== false
    const { eachMessage, eachBatch } = config
    const wrapped: ConsumerRunConfig = { ...config }
    if (eachMessage) {
      wrapped.eachMessage = (payload: EachMessagePayload) =>
        this.#track(() => eachMessage(payload), () => this.#finish(payload.topic, payload.partition, payload.message.offset))
    } else if (eachBatch) {
      const autoResolve = config.eachBatchAutoResolve !== false
      wrapped.eachBatch = (payload: EachBatchPayload) => {
        const { topic, partition } = payload.batch
        const resolveOffset = (offset: string): void => {
          payload.resolveOffset(offset)
          if (!this.#cut) this.#finish(topic, partition, offset)
        }
        return this.#track(
          () => eachBatch({ ...payload, resolveOffset }),
          () => {
            if (autoResolve && payload.batch.messages.length > 0) this.#finish(topic, partition, payload.batch.lastOffset())
          },
        )
      }
    }
    return this.#consumer.run(wrapped)
  }

  async #track(handle: () => Promise<void>, finished: () => void): Promise<void> {
    this.#inHand++
    let outcome: { error: unknown } | undefined
    try {
      await handle()
    } catch (error) {
      outcome = { error }
    } finally {
      this.#inHand--
      if (this.#inHand === 0) this.#idle?.()
    }
    if (this.#cut) {
      // Cut off: kafkajs must resolve no offset for it, so it never hears back.
      if (outcome) this.#cutOffErrors.push(outcome.error)
      return new Promise<void>(() => {})
    }
    if (outcome) throw outcome.error
    finished()
  }

  #finish(topic: string, partition: number, offset: string): void {
    const key = `${topic}\0${partition}`
    const value = BigInt(offset)
    const before = this.#finished.get(key)
    if (before === undefined || value > before) this.#finished.set(key, value)
  }

  async #shutdown(context: HookContext, name: string): Promise<void> {
    this.#stopping = true
    try {
      if (this.#assigned.size > 0) this.#consumer.pause([...this.#assigned].map((topic) => ({ topic })))
    } catch {
      // Not running (run() never called, or it crashed): nothing is being fetched to pause.
    }
    let inHand = 0
    if (this.#inHand > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#idle = resolve
      })
      if (!(await finishedBeforeDeadline(context, idle))) {
        inHand = this.#inHand
        this.#cut = true
      }
    }
    if (this.#autoCommit && this.#finished.size > 0) {
      // The committed offset is the next one to read: one past the last finished message.
      const offsets = [...this.#finished].map(([key, offset]) => {
        const [topic = '', partition = '0'] = key.split('\0')
        return { topic, partition: Number(partition), offset: String(offset + 1n) }
      })
      let committed: boolean
      try {
        committed = await finishedBeforeDeadline(context, this.#consumer.commitOffsets(offsets))
      } catch (error) {
        this.#consumer.disconnect().catch(() => {})
        throw closeFailed(name, `commitOffsets() of ${offsets.length} partition(s)`, error)
      }
      if (!committed) {
        this.#consumer.disconnect().catch(() => {})
        throw closeFailed(name, `commitOffsets() of ${offsets.length} partition(s)`, new Error('no answer from the broker before the hook\'s deadline'))
      }
    }
    if (this.#cut) {
      // disconnect() would wait for the cut-off handlers: start it, do not wait.
      this.#consumer.disconnect().catch(() => {})
      throw cutOff(name, `${inHand} handler call(s) still in hand; their offsets were not committed, so the group delivers those messages again once this member's session times out${describeLateErrors(this.#cutOffErrors)}`)
    }
    try {
      if (!(await finishedBeforeDeadline(context, this.#consumer.disconnect()))) {
        throw new Error('disconnect() did not finish before the hook\'s deadline')
      }
    } catch (error) {
      throw closeFailed(name, 'consumer.disconnect()', error)
    }
  }
}

/**
 * Creates a {@link KafkaConsumer} and registers its shutdown hook.
 *
 * @example
 * const consumer = createKafkaConsumer(shutdown, kafka.consumer({ groupId: 'orders' }))
 * await consumer.run({ eachMessage: async ({ message }) => handle(message) })
 */
export function createKafkaConsumer(host: ShutdownHost, consumer: KafkaConsumerLike, options?: ResourceHookOptions): KafkaConsumer {
  return new KafkaConsumer(host, consumer, options)
}

/**
 * Disconnects a kafkajs Producer in the `stores` phase, after every request
 * and consumer that could still send through it has finished. kafkajs sends
 * nothing in the background: each `send()` resolves once the broker
 * acknowledged it, so awaiting your sends is what makes them safe; the hook
 * then closes the connections. A disconnect that fails is reported.
 *
 * @example
 * closeKafkaProducer(shutdown, producer)
 * closeKafkaProducer(shutdown, auditProducer, { name: 'audit', phase: 'telemetry' })
 */
export function closeKafkaProducer(host: ShutdownHost, producer: KafkaProducerLike, options?: ResourceHookOptions): () => void {
  if (typeof producer !== 'object' || producer === null || typeof producer.disconnect !== 'function') {
    throw new LastcallOptionError('closeKafkaProducer(producer)', producer, 'a kafkajs Producer (from kafka.producer())')
  }
  return registerHook('closeKafkaProducer', host, options, { name: 'kafka-producer', phase: 'stores' }, async ({ signal }, name) => {
    try {
      await gracefulOrHard(signal, () => producer.disconnect(), () => {})
    } catch (error) {
      throw closeFailed(name, 'producer.disconnect()', error)
    }
  })
}
