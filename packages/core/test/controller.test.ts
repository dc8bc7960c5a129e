import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown, LastcallError, type ShutdownController } from '../src/index.js'
import { keepAliveAgent, listen, send } from './helpers.js'

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

function server(shutdown: ShutdownController, handler = (_req: IncomingMessage, res: ServerResponse): void => void res.end('ok')): Server {
  const s = createServer(shutdown.handler(handler))
  servers.push(s)
  return s
}

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('ShutdownController.attach', () => {
  it('closes a server attached during the drain at once and drains its connections with the others', async () => {
    const shutdown = createShutdown({ ...quiet, drainTimeoutMs: 5000 })
    let finishHeld!: () => void
    const held = new Promise<void>((resolve) => (finishHeld = resolve))
    const first = shutdown.attach(server(shutdown, (_req, res) => void held.then(() => res.end('held'))))
    const firstPort = await listen(first)
    const pending = send(firstPort, '/')
    await once(first, 'request')
    const late = server(shutdown)
    const latePort = await listen(late)
    const agent = keepAliveAgent()
    expect((await send(latePort, '/', { agent })).ok).toBe(true)
    const done = shutdown.shutdown('test')
    await shutdown.reached('draining')
    shutdown.attach(late)
    expect(late.listening).toBe(false)
    expect(await send(latePort, '/', { agent: false })).toMatchObject({ ok: false, code: 'ECONNREFUSED' })
    // The connection it accepted before is served like any other during the drain: once, then closed.
    const again = await send(latePort, '/', { agent })
    expect(again).toMatchObject({ ok: true, reply: { status: 200, reused: true, headers: { connection: 'close' } } })
    finishHeld()
    expect(await pending).toMatchObject({ ok: true })
    const report = await done
    agent.destroy()
    expect(report).toMatchObject({ exitCode: 0, timedOut: false, requests: { forced: 0 }, connections: { forced: 0 } })
    expect(report.timeline.map((t) => t.state)).toEqual(['leaving', 'draining', 'closing', 'closed'])
    // The drain ends only once every attached server has closed: the late one included.
    expect(late.listening).toBe(false)
  })

  it('refuses a server once the drain is over, naming the state', async () => {
    const shutdown = createShutdown({ ...quiet })
    await shutdown.shutdown('test')
    const late = server(shutdown)
    let error: unknown
    try {
      shutdown.attach(late)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LastcallError)
    expect(error).toMatchObject({ code: 'LASTCALL_INVALID_STATE' })
    expect((error as Error).message).toContain('cannot attach a server once the drain is over (state closed)')
  })
})

describe('the drain and keep-alive responses already under way', () => {
  it('serves the next request a client sends on a connection whose keep-alive head went out before the drain', async () => {
    const shutdown = createShutdown({ ...quiet, drainTimeoutMs: 5000, idleLingerMs: 100 })
    let finishFirst!: () => void
    const s = shutdown.attach(server(shutdown, (req, res) => {
      if (req.url !== '/first') return void res.end('second')
      // The head goes out now, with keep-alive; the body ends once the drain has begun.
      res.writeHead(200, { 'Content-Length': '5' })
      finishFirst = () => res.end('first')
    }))
    const port = await listen(s)
    const agent = keepAliveAgent(false, 1)
    const first = send(port, '/first', { agent })
    await once(s, 'request')
    // Queued behind the first on the agent's only socket: it goes out the moment the first is answered.
    const second = send(port, '/second', { agent })
    const done = shutdown.shutdown('test')
    await shutdown.reached('draining')
    finishFirst()
    expect(await first).toMatchObject({ ok: true, reply: { status: 200, body: 'first', headers: { connection: 'keep-alive' } } })
    // The listener is closed by now: it can only have gone out on the first one's connection.
    expect(await second).toMatchObject({ ok: true, reply: { status: 200, body: 'second', headers: { connection: 'close' } } })
    agent.destroy()
    expect(await done).toMatchObject({ exitCode: 0, requests: { completed: 2, forced: 0 } })
  })
})

describe('requestTimeoutMs logging', () => {
  it('logs the path of a request that passed its deadline, never its query string', async () => {
    const lines: Array<[Record<string, unknown>, string]> = []
    let logged!: () => void
    const warned = new Promise<void>((resolve) => (logged = resolve))
    const logger = { info() {}, error() {}, warn: (fields: Record<string, unknown>, message: string) => (lines.push([fields, message]), logged()) }
    const shutdown = createShutdown({ ...quiet, logger, requestTimeoutMs: 50 })
    const s = shutdown.attach(server(shutdown, () => {}))
    const port = await listen(s)
    const pending = send(port, '/reset-password?token=s3cret&user=ann')
    await warned
    await pending
    expect(lines).toEqual([[{ lastcall: true, method: 'GET', path: '/reset-password' }, 'request passed requestTimeoutMs (50 ms)']])
    expect(JSON.stringify(lines)).not.toContain('s3cret')
  })
})
