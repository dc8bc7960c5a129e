import { once } from 'node:events'
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { CheckTimeoutError, LastcallOptionError, createShutdown, type Clock, type ShutdownController, type ShutdownOptions } from '../src/index.js'

const cleanup: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

interface LogEntry {
  level: string
  fields: Record<string, unknown>
  message: string
}

/** A real logger object that keeps what it is given. */
function memoryLogger() {
  const entries: LogEntry[] = []
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => entries.push({ level, fields, message })
  return { entries, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } }
}

interface Setup {
  controller: ShutdownController
  server: Server
  port: number
  /** Requests that reached the application handler. */
  appRequests: string[]
}

async function setup(options: ShutdownOptions = {}, prepare?: (c: ShutdownController) => void, backlog = 511): Promise<Setup> {
  const controller = createShutdown({ signals: [], exit: false, logger: false, ...options })
  prepare?.(controller)
  const appRequests: string[] = []
  const server = createServer(
    controller.handler((req: IncomingMessage, res: ServerResponse) => {
      appRequests.push(req.url ?? '')
      res.end('app')
    }),
  )
  controller.attach(server)
  cleanup.push(() => {
    server.closeAllConnections()
    server.close()
  })
  server.listen({ port: 0, host: '127.0.0.1', backlog })
  await once(server, 'listening')
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no address')
  return { controller, server, port: address.port, appRequests }
}

function untilState(controller: ShutdownController, state: string): Promise<void> {
  if (controller.state === state) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (s: string) => {
      if (s !== state) return
      controller.off('state', on)
      resolve()
    }
    controller.on('state', on)
  })
}

async function ready(options: ShutdownOptions = {}, prepare?: (c: ShutdownController) => void, backlog?: number): Promise<Setup> {
  const s = await setup(options, prepare, backlog)
  await untilState(s.controller, 'serving')
  return s
}

interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: string
}

/** One request on a fresh connection (no agent), so it also proves the listener accepts. */
function fetchFresh(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
  })
}

/** The raw bytes of one response, read until the server closes. */
function raw(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head))
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
}

/**
 * Real timers, except the one of exactly `holdMs`, which waits for
 * `release()`: it stands in for the readiness delay, so the 'leaving' state
 * lasts exactly as long as the test needs, without sleeping.
 */
function holdingClock(holdMs: number) {
  const held: Array<() => void> = []
  const marker = Symbol('held')
  const clock: Clock = {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      if (ms === holdMs) {
        held.push(fn)
        return marker
      }
      const timer = setTimeout(fn, ms)
      timer.unref()
      return timer
    },
    clearTimeout(handle) {
      if (handle !== marker) clearTimeout(handle as NodeJS.Timeout)
    },
  }
  return { clock, release: () => held.splice(0).forEach((fn) => fn()) }
}

const READY_OK = '[+]started ok\n[+]shutdown ok\n'

describe('ShutdownController probes during shutdown', () => {
  it('answers liveness 200 and readiness 503 at the same moment while the listener still accepts', async () => {
    const hold = holdingClock(60_000)
    const { controller, server, port, appRequests } = await ready({ readinessDelayMs: 60_000, drainTimeoutMs: 2000, clock: hold.clock })
    expect((await fetchFresh(port, '/readyz')).status).toBe(200)

    const done = controller.shutdown('test')
    await untilState(controller, 'leaving')
    // Both on new connections, so the listener is still accepting when readiness already fails.
    const [live, livez, readiness, app] = await Promise.all([
      fetchFresh(port, '/healthz'),
      fetchFresh(port, '/livez?verbose'),
      fetchFresh(port, '/readyz'),
      fetchFresh(port, '/work'),
    ])
    expect(controller.state).toBe('leaving')
    expect(server.listening).toBe(true)
    expect(live).toMatchObject({ status: 200, body: 'ok' })
    expect(livez).toMatchObject({ status: 200, body: '[+]ping ok\nlivez check passed\n' })
    expect(readiness).toMatchObject({ status: 503, body: '[+]started ok\n[-]shutdown failed: shutting down\nreadyz check failed\n' })
    expect(app).toMatchObject({ status: 200, body: 'app' })
    expect(appRequests).toEqual(['/work'])

    const json = await fetchFresh(port, '/readyz', { Accept: 'application/health+json' })
    expect(JSON.parse(json.body)).toEqual({
      status: 'fail',
      checks: { started: [{ status: 'pass' }], shutdown: [{ status: 'fail', output: 'shutting down' }] },
      output: 'shutting down',
    })

    hold.release()
    await untilState(controller, 'draining')
    await expect(fetchFresh(port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect((await done).exitCode).toBe(0)
  })
})

describe('ShutdownController probes before ready', () => {
  it('answers readiness and startup 503 until ready(), then 200', async () => {
    const { controller, port } = await setup({ manualReady: true })
    expect(controller.state).toBe('starting')
    const [readiness, startup, live] = await Promise.all([fetchFresh(port, '/readyz'), fetchFresh(port, '/startupz?verbose'), fetchFresh(port, '/healthz')])
    expect(readiness).toMatchObject({ status: 503, body: '[-]started failed: starting\n[+]shutdown ok\nreadyz check failed\n' })
    expect(startup).toMatchObject({ status: 503, body: '[-]started failed: starting\nstartupz check failed\n' })
    expect(live).toMatchObject({ status: 200, body: 'ok' })
    controller.ready()
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    expect(await fetchFresh(port, '/startupz')).toMatchObject({ status: 200, body: 'ok' })
  })

  it('holds readiness at 503 until the startup checks pass, then turns 200', async () => {
    let warm = false
    let calls = 0
    const { controller, port } = await setup({}, (c) => {
      c.addCheck(
        'warm-cache',
        () => {
          calls++
          return warm
        },
        { kind: 'startup', cacheMs: 0 },
      )
    })
    // The controller ran the startup check once everything listened; it failed.
    expect(controller.state).toBe('starting')
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 503 })
    expect(await fetchFresh(port, '/startupz')).toMatchObject({
      status: 503,
      body: '[-]started failed: starting\n[-]warm-cache failed: reason withheld\nstartupz check failed\n',
    })
    warm = true
    // The controller retries failing startup checks every second.
    await untilState(controller, 'serving')
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    const callsAtReady = calls
    // Startup is over: the startup endpoint passes without running the check again.
    expect(await fetchFresh(port, '/startupz?verbose')).toMatchObject({ status: 200, body: '[+]started ok\nstartupz check passed\n' })
    expect(calls).toBe(callsAtReady)
  })
})

describe('ShutdownController.addCheck', () => {
  it('fails a hanging check at its timeout, aborts its signal, and logs CheckTimeoutError', async () => {
    const { entries, logger } = memoryLogger()
    let signal: AbortSignal | undefined
    const { port } = await ready({ logger }, (c) => {
      c.addCheck(
        'db',
        (ctx) => {
          signal = ctx.signal
          return new Promise(() => {})
        },
        { timeoutMs: 50 },
      )
    })
    const res = await fetchFresh(port, '/readyz?verbose')
    expect(res).toMatchObject({ status: 503, body: `${READY_OK}[-]db failed: reason withheld\nreadyz check failed\n` })
    expect(signal?.aborted).toBe(true)
    expect(signal?.reason).toBeInstanceOf(CheckTimeoutError)
    const logged = entries.find((e) => e.level === 'warn' && e.fields.check === 'db')
    expect(logged?.fields.err).toBeInstanceOf(CheckTimeoutError)
    expect((logged?.fields.err as CheckTimeoutError).code).toBe('LASTCALL_CHECK_TIMEOUT')
    expect(logged?.message).toBe('readiness check "db" failed: lastcall: check "db" did not answer within 50 ms')
  })

  it('runs a check once for 1,000 concurrent probes', async () => {
    let calls = 0
    let arrived = 0
    let release!: () => void
    const allArrived = new Promise<void>((resolve) => (release = resolve))
    const { server, port } = await ready(
      {},
      (c) => {
        c.addCheck(
          'db',
          async () => {
            calls++
            // Hold the run open until every probe has reached the server, so they all overlap it.
            await allArrived
          },
          { cacheMs: 0, timeoutMs: 15_000 },
        )
      },
      2048,
    )
    server.on('request', () => {
      if (++arrived === 1000) release()
    })
    const replies = await Promise.all(Array.from({ length: 1000 }, () => fetchFresh(port, '/readyz')))
    expect(arrived).toBe(1000)
    expect(calls).toBe(1)
    expect(replies.every((r) => r.status === 200 && r.body === 'ok')).toBe(true)
  })

  it('reuses a result for cacheMs and runs again after it', async () => {
    const counts = { cached: 0, fresh: 0 }
    const { port } = await ready({}, (c) => {
      c.addCheck('cached', () => void counts.cached++, { cacheMs: 60_000 })
      c.addCheck('fresh', () => void counts.fresh++, { cacheMs: 0 })
    })
    for (let i = 0; i < 3; i++) expect((await fetchFresh(port, '/readyz')).status).toBe(200)
    expect(counts).toEqual({ cached: 1, fresh: 3 })
  })

  it('treats a thrown error, a rejection and `false` as failures, anything else as a pass', async () => {
    const { port } = await ready({ probes: { exposeDetails: true } }, (c) => {
      c.addCheck('throws', () => {
        throw new Error('boom')
      })
      c.addCheck('rejects', () => Promise.reject(new Error('later boom')))
      c.addCheck('false', () => false)
      c.addCheck('resolves-false', async () => false)
      c.addCheck('undefined', () => undefined)
      c.addCheck('zero', () => 0)
    })
    const res = await fetchFresh(port, '/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toBe(
      `${READY_OK}[-]throws failed: boom\n[-]rejects failed: later boom\n[-]false failed: returned false\n[-]resolves-false failed: returned false\n[+]undefined ok\n[+]zero ok\nreadyz check failed\n`,
    )
  })

  it('reports a failing non-critical check as warn and keeps the endpoint at 200', async () => {
    const { port } = await ready({}, (c) => {
      c.addCheck('cache', () => false, { critical: false })
    })
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    expect(await fetchFresh(port, '/readyz?verbose')).toMatchObject({ status: 200, body: `${READY_OK}[!]cache warn: reason withheld\nreadyz check passed\n` })
    const json = await fetchFresh(port, '/readyz', { Accept: 'application/health+json' })
    expect(json.status).toBe(200)
    expect(JSON.parse(json.body)).toEqual({
      status: 'warn',
      checks: { started: [{ status: 'pass' }], shutdown: [{ status: 'pass' }], cache: [{ status: 'warn', output: 'reason withheld' }] },
      output: 'cache warn: reason withheld',
    })
  })

  it('fails liveness only through liveness checks, and readiness is not affected by them', async () => {
    let alive = true
    const { port } = await ready({}, (c) => {
      c.addCheck('event-loop', () => alive, { kind: 'liveness', cacheMs: 0 })
    })
    expect(await fetchFresh(port, '/healthz')).toMatchObject({ status: 200, body: 'ok' })
    alive = false
    expect(await fetchFresh(port, '/healthz')).toMatchObject({ status: 503, body: '[+]ping ok\n[-]event-loop failed: reason withheld\nhealthz check failed\n' })
    expect(await fetchFresh(port, '/livez/event-loop')).toMatchObject({ status: 503, body: '[-]event-loop failed: reason withheld\nlivez check failed\n' })
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
  })

  it('hides error details by default and always logs them', async () => {
    const secret = 'password authentication failed for user "admin" at 10.0.0.5'
    const { entries, logger } = memoryLogger()
    const { port } = await ready({ logger }, (c) => {
      c.addCheck('db', () => {
        throw new Error(secret)
      })
    })
    const text = await fetchFresh(port, '/readyz?verbose')
    const json = await fetchFresh(port, '/readyz', { Accept: 'application/json' })
    expect(text.body).toBe(`${READY_OK}[-]db failed: reason withheld\nreadyz check failed\n`)
    expect(text.body + json.body).not.toContain('10.0.0.5')
    expect(entries.some((e) => e.level === 'warn' && (e.fields.err as Error).message === secret)).toBe(true)
  })

  it('shows error details, one line each, with exposeDetails', async () => {
    const { port } = await ready({ probes: { exposeDetails: true } }, (c) => {
      c.addCheck('db', () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432\n[+]forged ok')
      })
    })
    expect(await fetchFresh(port, '/readyz/db')).toMatchObject({ status: 503, body: '[-]db failed: connect ECONNREFUSED 127.0.0.1:5432 [+]forged ok\nreadyz check failed\n' })
    const json = JSON.parse((await fetchFresh(port, '/readyz', { Accept: 'application/health+json' })).body)
    expect(json.checks.db).toEqual([{ status: 'fail', output: 'connect ECONNREFUSED 127.0.0.1:5432 [+]forged ok' }])
  })

  it('stops serving a check once removed', async () => {
    let remove!: () => void
    const { port } = await ready({}, (c) => {
      remove = c.addCheck('db', () => false)
    })
    expect((await fetchFresh(port, '/readyz')).status).toBe(503)
    remove()
    expect(await fetchFresh(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    expect((await fetchFresh(port, '/readyz/db')).status).toBe(404)
  })

  it('does not run readiness checks once shutdown started', async () => {
    const hold = holdingClock(60_000)
    let calls = 0
    const { controller, port } = await ready({ readinessDelayMs: 60_000, drainTimeoutMs: 2000, clock: hold.clock }, (c) => {
      c.addCheck('db', () => void calls++, { cacheMs: 0 })
    })
    const before = calls
    const done = controller.shutdown()
    await untilState(controller, 'leaving')
    expect(await fetchFresh(port, '/readyz?verbose')).toMatchObject({ status: 503, body: '[+]started ok\n[-]shutdown failed: shutting down\nreadyz check failed\n' })
    expect(calls).toBe(before)
    hold.release()
    await done
  })

  it.each([
    ['my db', /"addCheck\(name\)" must be a check name .*\(spaces and slashes are not allowed: the name is part of a URL path\); received "my db"/],
    ['db/primary', /spaces and slashes are not allowed.*received "db\/primary"/],
    ['', /must be a check name of 1 to 64 letters.*received ""/],
    ['-db', /starting with a letter or digit/],
    ['x'.repeat(65), /1 to 64/],
    [42, /received number 42/],
    ['shutdown', /a name other than the built-in checks \(ping, started, shutdown\); received "shutdown"/],
  ])('rejects the check name %j with a TypeError', (name, message) => {
    const controller = createShutdown({ signals: [], exit: false, logger: false })
    const error = catchError(() => controller.addCheck(name as string, () => true))
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toBeInstanceOf(LastcallOptionError)
    expect((error as LastcallOptionError).code).toBe('LASTCALL_INVALID_OPTION')
    expect((error as Error).message).toMatch(message)
  })

  it('rejects a duplicate check name, across kinds', () => {
    const controller = createShutdown({ signals: [], exit: false, logger: false })
    controller.addCheck('db', () => true)
    const error = catchError(() => controller.addCheck('db', () => true, { kind: 'liveness' }))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe('lastcall: option "addCheck(name)" must be a name not already used by another check; received "db"')
  })

  it.each([
    [{ timeout: 10 }, 'lastcall: option "checks.db.timeout" must be one of the known options (kind, timeoutMs, cacheMs, critical), most likely "timeoutMs"; received number 10'],
    [{ kind: 'ready' }, 'lastcall: option "checks.db.kind" must be "readiness", "liveness" or "startup"; received "ready"'],
    [{ timeoutMs: 0 }, 'lastcall: option "checks.db.timeoutMs" must be a finite number of milliseconds from 1 to 2147483647; received number 0'],
    [{ cacheMs: -1 }, 'lastcall: option "checks.db.cacheMs" must be a finite number of milliseconds from 0 to 2147483647; received number -1'],
    [{ critical: 'no' }, 'lastcall: option "checks.db.critical" must be a boolean; received "no"'],
    ['fast', 'lastcall: option "addCheck("db", options)" must be an object { kind?, timeoutMs?, cacheMs?, critical? } or undefined; received "fast"'],
  ])('rejects check options %j with a TypeError', (options, message) => {
    const controller = createShutdown({ signals: [], exit: false, logger: false })
    const error = catchError(() => controller.addCheck('db', () => true, options as never))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe(message)
  })

  it('rejects a check that is not a function', () => {
    const controller = createShutdown({ signals: [], exit: false, logger: false })
    expect(() => controller.addCheck('db', 'SELECT 1' as never)).toThrow(
      'lastcall: option "addCheck("db", fn)" must be a function that returns, throws, or returns a promise; received "SELECT 1"',
    )
  })
})

describe('probe response formats', () => {
  const withChecks = (c: ShutdownController) => {
    c.addCheck('db', () => true)
    c.addCheck('cache', () => false, { critical: false })
    c.addCheck('queue', () => false)
  }

  it('lists checks with ?verbose, skips ?exclude (repeatable), and runs one at /readyz/<check>, byte for byte', async () => {
    const { port } = await ready({}, withChecks)
    const cases: Array<[string, number, string]> = [
      ['/readyz', 503, `${READY_OK}[+]db ok\n[!]cache warn: reason withheld\n[-]queue failed: reason withheld\nreadyz check failed\n`],
      ['/readyz?exclude=queue', 200, 'ok'],
      ['/readyz?verbose&exclude=queue', 200, `${READY_OK}[+]db ok\n[!]cache warn: reason withheld\n[+]queue excluded: ok\nreadyz check passed\n`],
      ['/readyz?verbose=1&exclude=queue&exclude=cache', 200, `${READY_OK}[+]db ok\n[+]cache excluded: ok\n[+]queue excluded: ok\nreadyz check passed\n`],
      // Built-in checks cannot be excluded: that would let readiness pass during shutdown.
      ['/readyz?exclude=shutdown&exclude=queue', 200, 'ok'],
      ['/readyz/db', 200, 'ok'],
      ['/readyz/db?verbose', 200, '[+]db ok\nreadyz check passed\n'],
      ['/readyz/queue', 503, '[-]queue failed: reason withheld\nreadyz check failed\n'],
      ['/readyz/cache', 200, 'ok'],
      ['/readyz/shutdown?verbose', 200, '[+]shutdown ok\nreadyz check passed\n'],
      ['/readyz/', 503, `${READY_OK}[+]db ok\n[!]cache warn: reason withheld\n[-]queue failed: reason withheld\nreadyz check failed\n`],
      ['/readyz/nope', 404, 'no such check\n'],
      ['/readyz/ping', 404, 'no such check\n'],
      ['/readyz/db/x', 404, 'no such check\n'],
      ['/healthz', 200, 'ok'],
      ['/healthz?verbose', 200, '[+]ping ok\nhealthz check passed\n'],
      ['/livez/ping', 200, 'ok'],
      ['/startupz?verbose', 200, '[+]started ok\nstartupz check passed\n'],
    ]
    for (const [path, status, body] of cases) {
      const res = await request(`http://127.0.0.1:${port}`).get(path).buffer(true)
      expect({ path, status: res.status, body: res.text }).toEqual({ path, status, body })
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    }
  })

  it('negotiates application/health+json and application/json from Accept', async () => {
    const { port } = await ready({}, withChecks)
    const expected = {
      status: 'fail',
      checks: {
        started: [{ status: 'pass' }],
        shutdown: [{ status: 'pass' }],
        db: [{ status: 'pass' }],
        cache: [{ status: 'warn', output: 'reason withheld' }],
        queue: [{ status: 'fail', output: 'reason withheld' }],
      },
      output: 'cache warn: reason withheld; queue failed: reason withheld',
    }
    const health = await request(`http://127.0.0.1:${port}`).get('/readyz').set('Accept', 'application/health+json').buffer(true).parse((res, cb) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => cb(null, text))
    })
    expect(health.status).toBe(503)
    expect(health.headers['content-type']).toBe('application/health+json')
    expect(health.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(health.body as string)).toEqual(expected)

    const json = await request(`http://127.0.0.1:${port}`).get('/readyz').set('Accept', 'application/json')
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(json.body).toEqual(expected)

    const passing = await request(`http://127.0.0.1:${port}`).get('/readyz/db').set('Accept', 'application/json')
    expect(passing.status).toBe(200)
    expect(passing.text).toBe('{"status":"pass","checks":{"db":[{"status":"pass"}]}}')

    const cases: Array<[string, string]> = [
      ['*/*', 'text/plain; charset=utf-8'],
      ['text/html', 'text/plain; charset=utf-8'],
      ['application/json;q=0.5, text/plain', 'text/plain; charset=utf-8'],
      ['text/plain;q=0.2, application/health+json;q=0.9', 'application/health+json'],
      ['application/json, text/plain, */*', 'application/json; charset=utf-8'],
      ['application/health+json;q=0', 'text/plain; charset=utf-8'],
    ]
    for (const [accept, type] of cases) {
      const res = await fetchFresh(port, '/healthz', { Accept: accept })
      expect({ accept, type: res.headers['content-type'] }).toEqual({ accept, type })
    }
  })

  it('answers HEAD with the status and headers of GET and no body', async () => {
    const { port } = await ready({}, withChecks)
    const head = await raw(port, 'HEAD /readyz?verbose HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    const getRes = await fetchFresh(port, '/readyz?verbose')
    expect(head.startsWith('HTTP/1.1 503 Service Unavailable\r\n')).toBe(true)
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(getRes.body)}\r\n`)
    expect(head).toContain('Cache-Control: no-store\r\n')
    // Everything the server sent ends with the blank line after the head.
    expect(head.endsWith('\r\n\r\n')).toBe(true)
    expect(head.indexOf('\r\n\r\n')).toBe(head.length - 4)

    const ok = await request(`http://127.0.0.1:${port}`).head('/healthz')
    expect(ok.status).toBe(200)
    expect(ok.text ?? '').toBe('')
  })

  it('answers other methods with 405 and Allow', async () => {
    const { port, appRequests } = await ready()
    const res = await request(`http://127.0.0.1:${port}`).post('/readyz').send('x')
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.text).toBe('method not allowed\n')
    expect(appRequests).toEqual([])
  })
})

describe('ProbeOptions', () => {
  it('serves probes without reaching the application, and everything else reaches it', async () => {
    const { port, appRequests } = await ready()
    for (const path of ['/healthz', '/livez', '/readyz', '/startupz', '/readyz?verbose']) expect((await fetchFresh(port, path)).status).toBe(200)
    for (const path of ['/healthzx', '/readyzz?x', '/api/readyz', '/', '/Healthz']) expect((await fetchFresh(port, path)).body).toBe('app')
    expect(appRequests).toEqual(['/healthzx', '/readyzz?x', '/api/readyz', '/', '/Healthz'])
  })

  it('moves endpoints to configured paths and turns off the ones set to false', async () => {
    const { port, appRequests } = await ready({ probes: { readyPath: '/_/ready', healthPath: false, livePath: '/_/live', startupPath: false } })
    expect(await fetchFresh(port, '/_/ready?verbose')).toMatchObject({ status: 200, body: `${READY_OK}readyz check passed\n` })
    expect(await fetchFresh(port, '/_/live')).toMatchObject({ status: 200, body: 'ok' })
    expect((await fetchFresh(port, '/healthz')).body).toBe('app')
    expect((await fetchFresh(port, '/readyz')).body).toBe('app')
    expect((await fetchFresh(port, '/startupz')).body).toBe('app')
    expect(appRequests).toEqual(['/healthz', '/readyz', '/startupz'])
  })

  it('turns every endpoint off with probes: false, and startup checks still gate readiness', async () => {
    let warm = false
    const { controller, port, appRequests } = await setup({ probes: false }, (c) => {
      c.addCheck('warm', () => warm, { kind: 'startup', cacheMs: 0 })
    })
    expect((await fetchFresh(port, '/readyz')).body).toBe('app')
    expect(appRequests).toEqual(['/readyz'])
    expect(controller.isReady).toBe(false)
    warm = true
    await untilState(controller, 'serving')
  })

  it.each([
    [{ readyPath: 'readyz' }, 'probes.readyPath', 'lastcall: option "probes.readyPath" must be false or a URL path such as "/readyz": starting with "/", without a query, spaces or a trailing slash; received "readyz"'],
    [{ healthPath: '/health/' }, 'probes.healthPath', 'received "/health/"'],
    [{ healthPath: '/' }, 'probes.healthPath', 'received "/"'],
    [{ livePath: '/live?x=1' }, 'probes.livePath', 'received "/live?x=1"'],
    [{ livePath: '/my live' }, 'probes.livePath', 'received "/my live"'],
    [{ startupPath: true }, 'probes.startupPath', 'received boolean true'],
    [{ livePath: '/healthz' }, 'probes.livePath', 'must be a path that neither equals nor nests with healthz\'s path "/healthz"; received "/healthz"'],
    [{ readyPath: '/healthz/ready' }, 'probes.readyPath', 'nests with healthz\'s path'],
    [{ exposeDetails: 'yes' }, 'probes.exposeDetails', 'must be a boolean; received "yes"'],
    [{ checkTimeoutMs: 0 }, 'probes.checkTimeoutMs', 'from 1 to'],
    [{ checkCacheMs: Infinity }, 'probes.checkCacheMs', 'received number Infinity'],
    [{ readinessPath: '/ready' }, 'probes.readinessPath', 'one of the known options (healthPath, livePath, readyPath, startupPath, exposeDetails, checkTimeoutMs, checkCacheMs)'],
  ])('rejects probes %j at creation', (probes, option, message) => {
    const error = catchError(() => createShutdown({ signals: [], exit: false, logger: false, probes: probes as never }))
    expect(error).toBeInstanceOf(LastcallOptionError)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as LastcallOptionError).option).toBe(option)
    expect((error as Error).message).toContain(message)
  })

  it('applies checkTimeoutMs and checkCacheMs to checks without their own', async () => {
    let calls = 0
    const { port } = await ready({ probes: { checkTimeoutMs: 30, checkCacheMs: 0, exposeDetails: true } }, (c) => {
      c.addCheck('slow', () => {
        calls++
        return new Promise(() => {})
      })
    })
    expect(await fetchFresh(port, '/readyz/slow')).toMatchObject({ status: 503, body: '[-]slow failed: did not answer within 30 ms\nreadyz check failed\n' })
    // The hung call is still pending: the next run waits on it instead of calling the check again.
    expect((await fetchFresh(port, '/readyz/slow')).status).toBe(503)
    expect(calls).toBe(1)
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}
