import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closeSqsConsumer } from '@lastcall/resources/sqs'
import { killFixtures, startFixture } from './child.js'
import { cuttableProxy } from './proxy.js'
import { missing, needs, sqs as service, unique } from './services.js'

describe.skipIf(missing(service))(needs('closeSqsConsumer (moto_server, an SQS emulator)', service), () => {
  let sqs: SQSClient
  beforeAll(() => {
    sqs = new SQSClient({ endpoint: service.url!, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  })
  afterAll(() => sqs?.destroy())
  afterEach(() => killFixtures())

  async function queue(visibilitySeconds = 30): Promise<string> {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique('q'), Attributes: { VisibilityTimeout: String(visibilitySeconds) } }))
    return QueueUrl!
  }

  async function send(url: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 10) {
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: ids.slice(i, i + 10).map((id, j) => ({ Id: String(i + j), MessageBody: id })) }))
    }
  }

  /** Takes messages as the next consumer would (deleting each) until `expected` arrived. */
  async function drainQueue(url: string, expected: number): Promise<string[]> {
    const got: string[] = []
    while (got.length < expected) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))
      for (const m of Messages) {
        got.push(m.Body!)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }))
      }
    }
    return got
  }

  async function remaining(url: string): Promise<number> {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  }

  it('finishes and deletes the messages in hand, polls no more: the next consumer gets exactly the rest', async () => {
    const url = await queue()
    await send(url, Array.from({ length: 12 }, (_, i) => `before-${i}`))
    const app = startFixture('sqs-consumer', { SQS_ENDPOINT: service.url!, QUEUE_URL: url })
    await app.waitFor((e) => e.inHand >= 3, 'messages in hand')
    app.child.kill('SIGTERM')
    await app.waitFor((e) => e.state === 'draining', 'draining')
    await send(url, Array.from({ length: 5 }, (_, i) => `during-${i}`))
    const { code, report } = await app.exited
    expect(report!.hooks.find((h) => h.name === 'sqs')).toMatchObject({ phase: 'intake', outcome: 'ok' })
    expect(code).toBe(0)
    const started = app.events.filter((e) => e.handling).map((e) => e.handling as string)
    const deleted = app.events.filter((e) => e.deleted).map((e) => e.deleted as string)
    expect(deleted.sort()).toEqual([...started].sort())
    // Nothing the first consumer received is invisible now: every one of them was deleted.
    expect(await remaining(url)).toBe(17 - deleted.length)
    const next = await drainQueue(url, 17 - deleted.length)
    const all = [...deleted, ...next]
    expect(new Set(all).size).toBe(17)
    expect(next.filter((id) => id.startsWith('during')).length).toBe(5)
    expect(await remaining(url)).toBe(0)
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }))
  })

  it('cuts a hung handler off at the deadline: its message is not deleted and comes back after the visibility timeout', async () => {
    const url = await queue(2)
    await send(url, ['ok-a', 'hang-0', 'ok-b'])
    const app = startFixture('sqs-consumer', { SQS_ENDPOINT: service.url!, QUEUE_URL: url, SQS_HOOK_TIMEOUT_MS: '1000', HANDLE_MS: '20' })
    await app.waitFor((e) => e.handling === 'hang-0', 'hung handler started')
    await app.waitFor((e) => e.deleted === 'ok-a', 'ok-a deleted')
    await app.waitFor((e) => e.deleted === 'ok-b', 'ok-b deleted')
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    expect(code).toBe(1)
    const hook = report!.hooks.find((h) => h.name === 'sqs')!
    expect(hook).toMatchObject({ outcome: 'error', error: expect.stringMatching(/cut off at the hook's deadline: 1 message\(s\) still in hand; none of them was deleted/) })
    expect(hook.durationMs).toBeLessThan(1000)
    expect(await drainQueue(url, 1)).toEqual(['hang-0'])
    expect(await remaining(url)).toBe(0)
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }))
  })

  it('reports SQS unreachable at shutdown (the delete failed), exit code 1; the message comes back', async () => {
    const url = await queue(2)
    await send(url, ['slow-0'])
    // The consumer reaches SQS through a proxy; cutting it takes SQS away from the consumer alone.
    const target = new URL(service.url!)
    const proxy = await cuttableProxy(target.hostname, Number(target.port))
    const app = startFixture('sqs-consumer', { SQS_ENDPOINT: `http://127.0.0.1:${proxy.port}`, QUEUE_URL: url, SQS_HOOK_TIMEOUT_MS: '3000', HANDLE_MS: '500' })
    await app.waitFor((e) => e.handling === 'slow-0', 'message in hand')
    proxy.cut()
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    expect(code).toBe(1)
    expect(report!.hooks.find((h) => h.name === 'sqs')).toMatchObject({ outcome: 'error', error: expect.stringMatching(/deleting the handled messages \(1 error\(s\).*failed: SQS delete message failed/) })
    expect(await drainQueue(url, 1)).toEqual(['slow-0'])
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }))
  })

  it('reports a consumer that was already stopped', async () => {
    const { Consumer } = await import('sqs-consumer')
    const consumer = Consumer.create({ queueUrl: 'http://127.0.0.1:1/q', sqs, handleMessage: async () => undefined })
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    closeSqsConsumer(shutdown, consumer)
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'sqs', outcome: 'error', error: expect.stringMatching(/already closed/) })])
  })
})
