import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closeKafkaProducer, createKafkaConsumer } from '@lastcall/resources/kafkajs'
import { killFixtures, startFixture } from './child.js'
import { kafka as service, kafkaMock, missing, needs, unique } from './services.js'

function client(brokers: string): Kafka {
  return new Kafka({ clientId: 'lastcall-test', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } })
}

/** Reads the group from its committed offsets until `expected` messages arrived, as the group's next member would. */
async function nextMember(kafka: Kafka, group: string, topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value!.toString())
          if (got.length >= expected) resolve()
        },
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return got
}

async function committed(admin: Admin, group: string, topic: string): Promise<Record<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  return Object.fromEntries(offsets!.partitions.map((p) => [p.partition, Number(p.offset)]))
}

describe.skipIf(missing(service))(needs("createKafkaConsumer (librdkafka's mock cluster, an emulator)", service), () => {
  let kafka: Kafka
  let producer: Producer
  let admin: Admin

  beforeAll(async () => {
    kafka = client(service.url!)
    producer = kafka.producer({ allowAutoTopicCreation: true })
    await producer.connect()
    admin = kafka.admin()
    await admin.connect()
  })
  afterAll(async () => {
    await producer?.disconnect()
    await admin?.disconnect()
  })
  afterEach(() => killFixtures())

  it('finishes every message in hand, commits exactly those, leaves the group: the next member gets only the rest', async () => {
    const topic = unique('t')
    const group = unique('g')
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `before-${i}` })) })
    const app = startFixture('kafka-consumer', { LASTCALL_KAFKA_BROKERS: service.url!, TOPIC: topic, GROUP: group })
    await app.waitFor((e) => e.inHand >= 2, 'messages in hand')
    app.child.kill('SIGTERM')
    await app.waitFor((e) => e.state === 'draining', 'draining')
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `during-${i}` })) })
    const { code, report } = await app.exited
    expect(report!.hooks.find((h) => h.name === 'kafka')).toMatchObject({ phase: 'intake', outcome: 'ok' })
    expect(code).toBe(0)

    const started = app.events.filter((e) => e.handling).map((e) => e.handling as string)
    const finished = app.events.filter((e) => e.handled).map((e) => e.handled as string)
    expect(finished.sort()).toEqual([...started].sort())
    expect(finished.length).toBeGreaterThanOrEqual(2)

    // Committed offsets are one past the last finished message of each partition, and no further.
    const perPartition: Record<number, number> = {}
    for (const e of app.events.filter((e) => e.handled)) perPartition[e.partition] = (perPartition[e.partition] ?? 0) + 1
    const offsets = await committed(admin, group, topic)
    for (const [partition, count] of Object.entries(perPartition)) expect(offsets[Number(partition)]).toBe(count)

    const next = await nextMember(kafka, group, topic, 30 - finished.length)
    const all = [...finished, ...next]
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBe(30)
    expect(next.filter((id) => id.startsWith('during')).length).toBe(10)
  })

  it('cuts a hung handler off at the deadline: finished offsets committed, the cut-off message delivered again, reported', async () => {
    const topic = unique('t')
    const group = unique('g')
    await producer.send({
      topic,
      messages: [
        { value: 'ok-a', partition: 0 },
        { value: 'ok-b', partition: 0 },
        { value: 'hang-0', partition: 0 },
        { value: 'after-0', partition: 0 },
        { value: 'ok-c', partition: 1 },
      ],
    })
    const app = startFixture('kafka-consumer', { LASTCALL_KAFKA_BROKERS: service.url!, TOPIC: topic, GROUP: group, KAFKA_HOOK_TIMEOUT_MS: '1000', HANDLE_MS: '20' })
    await app.waitFor((e) => e.handling === 'hang-0', 'hung handler started')
    await app.waitFor((e) => e.handled === 'ok-c', 'the other partition done')
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    expect(code).toBe(1)
    const hook = report!.hooks.find((h) => h.name === 'kafka')!
    expect(hook).toMatchObject({ outcome: 'error', error: expect.stringMatching(/cut off at the hook's deadline: 1 handler call\(s\) still in hand/) })
    expect(hook.durationMs).toBeLessThan(1000)
    expect(await committed(admin, group, topic)).toMatchObject({ 0: 2, 1: 1 })
    // The cut-off member never left: the group hands its partitions on after its session timeout (6 s).
    const next = await nextMember(kafka, group, topic, 2)
    expect(next.sort()).toEqual(['after-0', 'hang-0'])
  })

  describe.skipIf(missing(kafkaMock))(needs('with a cluster of its own', kafkaMock), () => {
    it('reports a broker that is gone at shutdown (commit failed), exit code 1, within the hook timeout', async () => {
      const mock = spawn(kafkaMock.url!, ['1'], { stdio: ['ignore', 'pipe', 'inherit'] })
      try {
        const [bootstrap] = (await once(createInterface({ input: mock.stdout! }), 'line')) as [string]
        const own = client(bootstrap)
        const p = own.producer({ allowAutoTopicCreation: true })
        await p.connect()
        const topic = unique('t')
        await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m-${i}` })) })
        await p.disconnect()
        const app = startFixture('kafka-consumer', { LASTCALL_KAFKA_BROKERS: bootstrap, TOPIC: topic, GROUP: unique('g'), KAFKA_HOOK_TIMEOUT_MS: '2000' })
        await app.waitFor((e) => e.handled, 'a message handled')
        mock.kill('SIGKILL')
        await once(mock, 'exit')
        app.child.kill('SIGTERM')
        const { code, report } = await app.exited
        expect(code).toBe(1)
        const hook = report!.hooks.find((h) => h.name === 'kafka')!
        expect(hook).toMatchObject({ outcome: 'error', error: expect.stringMatching(/commitOffsets\(\) of \d+ partition\(s\) failed/) })
        expect(hook.durationMs).toBeLessThan(2000)
      } finally {
        if (mock.exitCode === null && mock.signalCode === null) mock.kill('SIGKILL')
      }
    })
  })

  it('eachBatch: commits exactly the offsets the handler resolved, in process', async () => {
    const topic = unique('t')
    const group = unique('g')
    await producer.send({ topic, messages: ['a', 'b', 'c', 'd'].map((value) => ({ value, partition: 0 })) })
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0 })
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
    const tracked = createKafkaConsumer(shutdown, consumer)
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const seen = new Promise<string[]>((resolve) => {
      void tracked.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          // Handles only the first two of the batch; the rest were fetched, never handled.
          for (const message of batch.messages.slice(0, 2)) resolveOffset(message.offset)
          resolve(batch.messages.map((m) => m.value!.toString()))
          await new Promise<void>((r) => shutdown.once('state', () => r()))
        },
      })
    })
    expect(await seen).toEqual(['a', 'b', 'c', 'd'])
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'kafka', outcome: 'ok' })])
    expect(await committed(admin, group, topic)).toMatchObject({ 0: 2 })
  })

  it('disconnects a producer in the stores phase and reports one whose disconnect fails', async () => {
    const p = kafka.producer()
    await p.connect()
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    closeKafkaProducer(shutdown, p)
    closeKafkaProducer(shutdown, { disconnect: () => Promise.reject(new Error('boom')) }, { name: 'broken' })
    const report = await shutdown.shutdown()
    expect(report.hooks.map((h) => [h.name, h.phase, h.outcome])).toEqual([['kafka-producer', 'stores', 'ok'], ['broken', 'stores', 'error']])
    expect(report.exitCode).toBe(1)
  })

  it('disconnects a consumer the shutdown reached before run(), reported ok', async () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0 })
    const consumer = kafka.consumer({ groupId: unique('g') })
    await consumer.connect()
    createKafkaConsumer(shutdown, consumer)
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'kafka', phase: 'intake', outcome: 'ok' })])
  })

  it('rejects what is not a kafkajs consumer, and run() without a handler', () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    expect(() => createKafkaConsumer(shutdown, {} as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
    const consumer = createKafkaConsumer(shutdown, kafka.consumer({ groupId: unique('g') }))
    expect(() => consumer.run({})).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
  })
})
