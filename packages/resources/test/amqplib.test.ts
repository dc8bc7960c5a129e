import amqp from 'amqplib'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { createAmqpConsumer } from '@lastcall/resources/amqplib'
import { closeOnShutdown } from '@lastcall/resources'
import { killFixtures, startFixture } from './child.js'
import { amqp as amqpService, missing, needs, pg as pgService, unique } from './services.js'

describe.skipIf(missing(amqpService, pgService))(needs('createAmqpConsumer', amqpService, pgService), () => {
  const table = unique('processed')
  let admin: pg.Client
  let connection: amqp.ChannelModel
  let channel: amqp.Channel

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgService.url })
    await admin.connect()
    await admin.query(`CREATE TABLE ${table} (id text NOT NULL, consumer text NOT NULL)`)
    connection = await amqp.connect(amqpService.url!)
    channel = await connection.createChannel()
  })
  afterAll(async () => {
    await connection?.close()
    await admin?.query(`DROP TABLE IF EXISTS ${table}`)
    await admin?.end()
  })
  afterEach(() => killFixtures())

  it('loses no message and handles none twice: in-hand ones are finished and acked, later ones stay queued', async () => {
    const queue = unique('q')
    await channel.assertQueue(queue, { durable: false })
    const app = startFixture('amqp-consumer', { LASTCALL_PG_URL: pgService.url!, LASTCALL_AMQP_URL: amqpService.url!, QUEUE: queue, TABLE: table })
    await app.waitFor((e) => e.ready, 'consumer ready')
    for (let i = 0; i < 20; i++) channel.sendToQueue(queue, Buffer.from(`before-${i}`))
    // Several messages in hand (prefetch 5) when the signal arrives.
    await app.waitFor((e) => e.inHand >= 3, 'messages in hand')
    app.child.kill('SIGTERM')
    await app.waitFor((e) => e.state === 'draining', 'draining')
    for (let i = 0; i < 10; i++) channel.sendToQueue(queue, Buffer.from(`during-${i}`))
    const { code, report } = await app.exited
    expect(code).toBe(0)
    expect(report!.hooks.find((h) => h.name === 'amqp')).toMatchObject({ phase: 'intake', outcome: 'ok' })

    const first = (await admin.query<{ id: string }>(`SELECT id FROM ${table} WHERE consumer = 'first'`)).rows.map((r) => r.id)
    // Every message the first consumer started, it finished.
    const started = app.events.filter((e) => e.handling).map((e) => e.handling as string)
    expect(first.sort()).toEqual([...started].sort())
    expect(first.some((id) => id.startsWith('during'))).toBe(false)

    // The rest are in the queue, unacked by nobody: count them, then take them as the next consumer would.
    const { messageCount } = await channel.checkQueue(queue)
    expect(messageCount).toBe(30 - first.length)
    const next: string[] = []
    for (;;) {
      const message = await channel.get(queue, { noAck: true })
      if (message === false) break
      next.push(message.content.toString())
    }
    const all = [...first, ...next]
    expect(all.length).toBe(30)
    expect(new Set(all).size).toBe(30)
    expect(next.filter((id) => id.startsWith('during')).length).toBe(10)
    await channel.deleteQueue(queue)
  })

  it('cuts a handler that outlives the hook off at its deadline: reported, the process still drains and reports, the message is requeued', async () => {
    const queue = unique('q')
    await channel.assertQueue(queue, { durable: false })
    const app = startFixture('amqp-consumer', { LASTCALL_PG_URL: pgService.url!, LASTCALL_AMQP_URL: amqpService.url!, QUEUE: queue, TABLE: table, AMQP_HOOK_TIMEOUT_MS: '1000' })
    await app.waitFor((e) => e.ready, 'consumer ready')
    channel.sendToQueue(queue, Buffer.from('hang-0'))
    for (let i = 0; i < 3; i++) channel.sendToQueue(queue, Buffer.from(`cut-${i}`))
    await app.waitFor((e) => e.handling === 'hang-0', 'hung handler started')
    await app.waitFor((e) => e.inHand === 4, 'all four in hand')
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    // Before the fix, channel.ack() on the closed channel was an unhandled rejection: exit without a report.
    expect(app.stderr()).not.toMatch(/Unhandled|IllegalOperationError/)
    expect(report).toBeDefined()
    expect(code).toBe(1)
    const hook = report!.hooks.find((h) => h.name === 'amqp')!
    expect(hook).toMatchObject({ phase: 'intake', outcome: 'error', error: expect.stringMatching(/cut off at the hook's deadline: 1 message\(s\) still in hand/) })
    // The helper cut itself off before its hook's timeout: the outcome is its own 'error', not 'timeout'.
    // (Its duration is not asserted: on a loaded machine the cut lands a few ms either side of 1000.)
    expect(report!.hooks.find((h) => h.name === 'pg')).toMatchObject({ outcome: 'ok' })
    expect(app.events.find((e) => e.cutOffErrors)!.cutOffErrors).toEqual([expect.stringMatching(/Channel closed/)])
    expect(hook.error).toMatch(/1 of them then failed \(IllegalOperationError: Channel closed/)
    // The other messages were finished; the hung one is back in the queue, marked redelivered.
    const written = (await admin.query<{ id: string }>(`SELECT id FROM ${table} WHERE id LIKE 'cut-%'`)).rows.map((r) => r.id)
    expect(written.sort()).toEqual(['cut-0', 'cut-1', 'cut-2'])
    const again = await channel.get(queue, { noAck: true })
    expect(again && again.content.toString()).toBe('hang-0')
    expect(again && again.fields.redelivered).toBe(true)
    expect(await channel.get(queue, { noAck: true })).toBe(false)
    await channel.deleteQueue(queue)
  })

  it('reports a channel that was already closed instead of throwing', async () => {
    const conn = await amqp.connect(amqpService.url!)
    const ch = await conn.createChannel()
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    createAmqpConsumer(shutdown, ch, { connection: conn })
    await ch.close()
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'amqp', phase: 'intake', outcome: 'error', error: expect.stringMatching(/already closed/) })])
    await conn.close()
  })

  it('closeOnShutdown reports a close that fails (a channel whose connection is gone)', async () => {
    const conn = await amqp.connect(amqpService.url!)
    const ch = await conn.createChannel()
    await conn.close()
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    closeOnShutdown(shutdown, ch, { name: 'channel' })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'channel', phase: 'stores', outcome: 'error', error: expect.stringMatching(/close\(\) failed/) })])
    expect(report.exitCode).toBe(1)
  })
})
