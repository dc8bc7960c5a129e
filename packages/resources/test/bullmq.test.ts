import { once } from 'node:events'
import { Queue } from 'bullmq'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closeBullWorker } from '@lastcall/resources/bullmq'
import { Worker } from 'bullmq'
import { killFixtures, startFixture } from './child.js'
import { missing, needs, pg as pgService, redis as redisService, unique } from './services.js'

describe.skipIf(missing(redisService, pgService))(needs('closeBullWorker', redisService, pgService), () => {
  const table = unique('jobs')
  const queueName = unique('q')
  let admin: pg.Client
  let queue: Queue
  const connection = () => {
    const u = new URL(redisService.url!)
    return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null }
  }

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgService.url })
    await admin.connect()
    await admin.query(`CREATE TABLE ${table} (job text NOT NULL)`)
    queue = new Queue(queueName, { connection: connection() })
  })
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => {})
    await queue?.close()
    await admin?.query(`DROP TABLE IF EXISTS ${table}`)
    await admin?.end()
  })
  afterEach(() => killFixtures())

  it('lets a job running at SIGTERM complete and write before the pool closes; the next job waits in the queue', async () => {
    const app = startFixture('bullmq-worker', { LASTCALL_PG_URL: pgService.url!, LASTCALL_REDIS_URL: redisService.url!, QUEUE: queueName, TABLE: table })
    await app.waitFor((e) => e.ready, 'worker ready')
    const job = await queue.add('work', { n: 1 })
    await app.waitFor((e) => e.started === job.id, 'job started')
    app.child.kill('SIGTERM')
    await app.waitFor((e) => e.state === 'draining', 'draining')
    // Added during the shutdown, after the intake phase called worker.close(): it is either still waiting in
    // the queue, or (if the worker's blocking fetch had already taken it) completed, written once. Never lost.
    const later = await queue.add('work', { n: 2 })
    const { code, report } = await app.exited
    expect(code).toBe(0)
    const written = await admin.query<{ job: string }>(`SELECT job FROM ${table}`)
    const laterState = await queue.getJobState(later.id!)
    expect(['waiting', 'completed']).toContain(laterState)
    expect(written.rows.map((r) => r.job).sort()).toEqual(laterState === 'completed' ? [job.id, later.id].sort() : [job.id])
    expect(await job.getState()).toBe('completed')
    const hooks = report!.hooks
    const bull = hooks.find((h) => h.name === 'bullmq')!
    const pool = hooks.find((h) => h.name === 'pg')!
    expect(bull).toMatchObject({ phase: 'intake', outcome: 'ok' })
    expect(pool).toMatchObject({ phase: 'stores', outcome: 'ok' })
    expect(pool.startMs).toBeGreaterThanOrEqual(bull.startMs + bull.durationMs)
  })

  it('force-closes a worker whose job outlives the hook: reported, and the job goes back as stalled and runs once more elsewhere', async () => {
    // A queue of its own: a stalled check by another test's worker (30 s interval) would hold this one's off.
    const name = unique('q')
    const own = new Queue(name, { connection: connection() })
    const app = startFixture('bullmq-worker', { LASTCALL_PG_URL: pgService.url!, LASTCALL_REDIS_URL: redisService.url!, QUEUE: name, TABLE: table, BULL_HOOK_TIMEOUT_MS: '800', LOCK_MS: '1000' })
    await app.waitFor((e) => e.ready, 'worker ready')
    const job = await own.add('hang', { n: 3 })
    await app.waitFor((e) => e.started === job.id, 'job started')
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    expect(code).toBe(1)
    const bull = report!.hooks.find((h) => h.name === 'bullmq')!
    expect(bull).toMatchObject({ phase: 'intake', outcome: 'error', error: expect.stringMatching(/cut off at the hook's deadline: jobs still running; the worker was force-closed/) })
    expect(bull.durationMs).toBeLessThan(800)
    // stores ran after the worker was closed, not under a worker still holding its connections.
    expect(report!.hooks.find((h) => h.name === 'pg')).toMatchObject({ phase: 'stores', outcome: 'ok' })
    // Not completed, not failed: still active with a lock nobody renews.
    expect(await job.getState()).toBe('active')
    const second = new Worker(name, async (j) => {
      await admin.query(`INSERT INTO ${table} (job) VALUES ($1)`, [`second-${j.id}`])
    }, { connection: connection(), stalledInterval: 300 })
    try {
      const [done] = (await once(second, 'completed')) as [{ id: string }]
      expect(done.id).toBe(job.id)
    } finally {
      await second.close()
    }
    const fresh = await own.getJob(job.id!)
    expect(await fresh!.getState()).toBe('completed')
    expect(fresh!.stalledCounter).toBe(1)
    const rows = await admin.query<{ job: string }>(`SELECT job FROM ${table} WHERE job LIKE 'second-%'`)
    expect(rows.rows).toEqual([{ job: `second-${job.id}` }])
    await own.obliterate({ force: true })
    await own.close()
  })

  it('reports a worker that was already closed instead of throwing', async () => {
    const worker = new Worker(unique('q'), async () => {}, { connection: connection(), autorun: false })
    await worker.close()
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    closeBullWorker(shutdown, worker)
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'bullmq', phase: 'intake', outcome: 'error', error: expect.stringMatching(/already closed/) })])
  })
})
