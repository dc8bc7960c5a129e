// Express + pg + Redis + a BullMQ worker. On SIGTERM, lastcall:
//   intake:    the worker stops taking jobs and finishes the ones it runs   (beside the HTTP drain)
//   drain:     in-flight requests finish, keep-alive clients are closed safely
//   stores:    the pg pool and the Redis clients close, nobody uses them any more
//   telemetry: pino flushes; the report is printed last.
import { createServer } from 'node:http'
import express from 'express'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import pino from 'pino'
import { createShutdown, formatReport } from '@lastcall/core'
import { closeBullWorker } from '@lastcall/resources/bullmq'
import { closePgPool } from '@lastcall/resources/pg'
import { closePino } from '@lastcall/resources/pino'
import { closeRedis } from '@lastcall/resources/redis'
import { closeOnShutdown } from '@lastcall/resources'

const PG_URL = process.env.LASTCALL_PG_URL ?? 'postgres://lastcall@127.0.0.1:55432/postgres'
const REDIS_URL = process.env.LASTCALL_REDIS_URL ?? 'redis://127.0.0.1:56379'
const PORT = Number(process.env.PORT ?? 3000)

const destination = pino.destination({ dest: 1, sync: false })
const logger = pino({ level: 'info' }, destination)
const shutdown = createShutdown({ logger, drainTimeoutMs: 5000, timeoutMs: 15_000 })

const pool = new pg.Pool({ connectionString: PG_URL, max: 10 })
const redis = new Redis(REDIS_URL)
const { hostname, port } = new URL(REDIS_URL)
const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null }
const queue = new Queue('orders', { connection })

await pool.query('CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, item text NOT NULL, shipped boolean NOT NULL DEFAULT false)')

// A job takes a while: one running at SIGTERM still finishes and writes.
const worker = new Worker(
  'orders',
  async (job) => {
    await pool.query('SELECT pg_sleep(0.5)')
    await pool.query('UPDATE orders SET shipped = true WHERE id = $1', [job.data.id])
    await redis.incr('orders:shipped')
  },
  { connection, concurrency: 4 },
)

closeBullWorker(shutdown, worker, { timeoutMs: 10_000 })
closeOnShutdown(shutdown, queue, { name: 'bullmq-queue' })
closePgPool(shutdown, pool)
closeRedis(shutdown, redis)
closePino(shutdown, logger, { destination })
shutdown.on('closed', (report) => process.stderr.write(`\n${formatReport(report)}\n`))

const app = express()
app.use(express.json())
app.post('/orders', async (req, res) => {
  const item = typeof req.body?.item === 'string' ? req.body.item : 'thing'
  const { rows } = await pool.query<{ id: number }>('INSERT INTO orders (item) VALUES ($1) RETURNING id', [item])
  const id = rows[0]!.id
  await queue.add('ship', { id })
  await redis.incr('orders:created')
  res.status(201).json({ id })
})
app.get('/stats', async (_req, res) => {
  const [created, shipped] = await redis.mget('orders:created', 'orders:shipped')
  const { rows } = await pool.query<{ pending: string }>('SELECT count(*) AS pending FROM orders WHERE NOT shipped')
  res.json({ created: Number(created ?? 0), shipped: Number(shipped ?? 0), pendingInDb: Number(rows[0]!.pending) })
})

const server = shutdown.attach(createServer(shutdown.handler(app)))
server.listen(PORT, '127.0.0.1', () => logger.info({ port: PORT, pid: process.pid }, 'listening'))
