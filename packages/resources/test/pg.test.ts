import { request } from 'node:http'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closePgPool } from '@lastcall/resources/pg'
import { killFixtures, startFixture } from './child.js'
import { missing, needs, pg as service, unique } from './services.js'

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject).end()
  })
}

describe.skipIf(missing(service))(needs('closePgPool', service), () => {
  const table = unique('writes')
  let admin: pg.Client

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: service.url })
    await admin.connect()
    await admin.query(`CREATE TABLE ${table} (id text NOT NULL, step text NOT NULL)`)
  })
  afterAll(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${table}`)
    await admin?.end()
  })
  afterEach(() => killFixtures())

  async function rows(id: string): Promise<string[]> {
    const r = await admin.query<{ step: string }>(`SELECT step FROM ${table} WHERE id = $1 ORDER BY step`, [id])
    return r.rows.map((row) => row.step)
  }

  it('lets a request in flight at SIGTERM finish; its transaction is in the database', async () => {
    const app = startFixture('pg-app', { LASTCALL_PG_URL: service.url!, TABLE: table })
    const { port } = await app.waitFor((e) => e.port, 'listening')
    const response = get(port, '/write?id=req1')
    await app.waitFor((e) => e.started === 'request', 'request started')
    app.child.kill('SIGTERM')
    expect(await response).toEqual({ status: 200, body: 'written\n' })
    const { code, report } = await app.exited
    expect(code).toBe(0)
    expect(await rows('req1')).toEqual(['first', 'second'])
    const hook = report!.hooks.find((h) => h.name === 'pg')!
    expect(hook).toMatchObject({ phase: 'stores', outcome: 'ok' })
    const closing = report!.timeline.find((t) => t.state === 'closing')!
    expect(hook.startMs).toBeGreaterThanOrEqual(closing.offsetMs)
  })

  it('ends the pool only after the last background job using it finished', async () => {
    const app = startFixture('pg-app', { LASTCALL_PG_URL: service.url!, TABLE: table, WORK_S: '0.8' })
    const { port } = await app.waitFor((e) => e.port, 'listening')
    expect((await get(port, '/job?id=job1')).status).toBe(202)
    await app.waitFor((e) => e.started === 'job', 'job started')
    app.child.kill('SIGTERM')
    const { code, report } = await app.exited
    expect(code).toBe(0)
    // The job committed: the pool did not close under it.
    expect(await rows('job1')).toEqual(['first', 'second'])
    const order = app.events.map((e) => (e.done ? 'job-done' : e.poolRemove ? 'client-closed' : e.state === 'closing' ? 'closing' : undefined)).filter(Boolean)
    // The HTTP drain was over before the job finished; the job's client was closed only after it finished.
    expect(order.indexOf('closing')).toBeLessThan(order.indexOf('job-done'))
    expect(order.lastIndexOf('client-closed')).toBeGreaterThan(order.indexOf('job-done'))
    expect(report!.hooks.find((h) => h.name === 'pg')).toMatchObject({ outcome: 'ok' })
  })

  it('times the pg hook out when a query waits on a lock; later hooks still run, exit code 1, within timeoutMs', async () => {
    const locked = unique('locked')
    await admin.query(`CREATE TABLE ${locked} (n int)`)
    const holder = new pg.Client({ connectionString: service.url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query(`LOCK TABLE ${locked} IN ACCESS EXCLUSIVE MODE`)
      const timeoutMs = 3000
      const app = startFixture('pg-app', {
        LASTCALL_PG_URL: service.url!, TABLE: table, LOCKED_TABLE: locked, TIMEOUT_MS: String(timeoutMs), PG_HOOK_TIMEOUT_MS: '500',
      })
      const { port } = await app.waitFor((e) => e.port, 'listening')
      expect((await get(port, '/job?id=stuck')).status).toBe(202)
      await app.waitFor((e) => e.started === 'job', 'job started')
      const sent = performance.now()
      app.child.kill('SIGTERM')
      const { code, report, at } = await app.exited
      expect(code).toBe(1)
      expect(report!.hooks.find((h) => h.name === 'pg')).toMatchObject({ phase: 'stores', outcome: 'timeout' })
      expect(report!.hooks.find((h) => h.name === 'marker')).toMatchObject({ phase: 'telemetry', outcome: 'ok' })
      expect(app.events.some((e) => e.marker)).toBe(true)
      expect(report!.exitCode).toBe(1)
      // Generous upper bound: the process is gone well before timeoutMs.
      expect(at - sent).toBeLessThan(timeoutMs)
    } finally {
      await holder.query('ROLLBACK').catch(() => {})
      await holder.end()
      await admin.query(`DROP TABLE IF EXISTS ${locked}`)
    }
  })

  it('reports a pool that was already ended instead of throwing', async () => {
    const pool = new pg.Pool({ connectionString: service.url })
    await pool.query('SELECT 1')
    await pool.end()
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    closePgPool(shutdown, pool)
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'pg', phase: 'stores', outcome: 'error', error: expect.stringMatching(/already closed/) })])
    expect(report.exitCode).toBe(1)
  })
})
