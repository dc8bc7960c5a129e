/**
 * Property: whatever interleaving of signals, shutdown() calls, requests,
 * idle connections, hook outcomes and late attach() calls, a shutdown
 * - never loses an accepted request that its app completes before the drain's deadline (unless a second signal cut it),
 * - never runs past timeoutMs,
 * - exits once, with the report's exit code,
 * - takes a second signal for a second signal and nothing else.
 *
 * In-process: a real coordinator over a fake process (signals emitted by hand,
 * exit recorded), a fake clock for every lastcall timer and for the app's own
 * response times, and real loopback sockets. Time only moves when the driver
 * moves it, and the driver waits on socket events between steps, so the run
 * is the same on a loaded machine. Set LASTCALL_PROPERTY_SEED to replay a seed.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { constants } from 'node:os'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { delay } from '../src/clock.js'
import { ShutdownController, type ShutdownReport, type ShutdownState } from '../src/index.js'
import { ProcessCoordinator, SAME_SIGNAL_WINDOW_MS } from '../src/process/signals.js'
import { FakeClock } from './fakeClock.js'
import { FakeProcess } from './fakeProcess.js'
import { listen } from './helpers.js'

type Action =
  | { at: number; type: 'request'; conn: number; after: number }
  | { at: number; type: 'signal'; signal: 'SIGTERM' | 'SIGINT'; twice: boolean }
  | { at: number; type: 'shutdown' }
  | { at: number; type: 'connect' }
  | { at: number; type: 'attach' }

interface Scenario {
  readinessDelayMs: number
  drainTimeoutMs: number
  extraMs: number
  hooks: Array<{ phase: 'deregister' | 'intake' | 'default' | 'stores'; outcome: 'ok' | 'throw' | 'hang'; ms: number }>
  throwingLogger: boolean
  throwingListener: boolean
  actions: Action[]
}

const CONNECTIONS = 3
const STEP_MS = 10
const LINGER_MS = 50
const HOOK_TIMEOUT_MS = 300

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 1500 }), type: fc.constant('request' as const), conn: fc.integer({ min: -1, max: CONNECTIONS - 1 }), after: fc.integer({ min: 0, max: 1200 }) }) },
  { weight: 2, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 1500 }), type: fc.constant('signal' as const), signal: fc.constantFrom('SIGTERM' as const, 'SIGINT' as const), twice: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 1500 }), type: fc.constant('shutdown' as const) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 1500 }), type: fc.constant('connect' as const) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 1500 }), type: fc.constant('attach' as const) }) },
)

const scenario: fc.Arbitrary<Scenario> = fc.record({
  readinessDelayMs: fc.constantFrom(0, 100, 300),
  drainTimeoutMs: fc.constantFrom(200, 600, 1000),
  extraMs: fc.constantFrom(0, 200, 1500),
  hooks: fc.array(fc.record({
    phase: fc.constantFrom('deregister' as const, 'intake' as const, 'default' as const, 'stores' as const),
    outcome: fc.constantFrom('ok' as const, 'throw' as const, 'hang' as const),
    ms: fc.integer({ min: 0, max: 400 }),
  }), { maxLength: 4 }),
  throwingLogger: fc.boolean(),
  throwingListener: fc.boolean(),
  actions: fc.array(action, { minLength: 1, maxLength: 12 }),
})

interface Sent {
  id: number
  after: number
  conn: number
  outcome: Promise<{ ok: true; status: number; body: string } | { ok: false; code: string }>
  settled: boolean
}

/** Lets socket events that are already due run: the driver's only way to let real I/O catch up, never a sleep. */
async function ioTurns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** A promise that fails the run instead of hanging it: real time, generous, only reached on a bug. */
function watchdog<T>(what: string, promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const fail = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`stuck waiting for ${what}`)), ms)
  })
  return Promise.race([promise, fail]).finally(() => clearTimeout(timer))
}

async function run(s: Scenario): Promise<void> {
  const clock = new FakeClock()
  const proc = new FakeProcess(() => clock.now())
  const host = new ProcessCoordinator(proc)
  const broken = (): never => {
    throw new Error('destination is destroyed')
  }
  const timeoutMs = s.readinessDelayMs + s.drainTimeoutMs + s.extraMs
  const controller = new ShutdownController({
    clock,
    platform: false,
    readinessDelayMs: s.readinessDelayMs,
    drainTimeoutMs: s.drainTimeoutMs,
    timeoutMs,
    idleLingerMs: LINGER_MS,
    hookTimeoutMs: HOOK_TIMEOUT_MS,
    logger: s.throwingLogger ? { info: broken, warn: broken, error: broken } : false,
  }, host)
  let leavingAt: number | undefined
  controller.on('state', (state: ShutdownState) => {
    if (state === 'leaving') leavingAt = clock.now()
  })
  if (s.throwingListener) {
    controller.on('closed', () => {
      throw new Error('closed listener broke')
    })
  }
  s.hooks.forEach((h, i) => {
    controller.onShutdown(`hook${i}`, async () => {
      if (h.outcome === 'hang') return new Promise(() => {})
      await delay(clock, h.ms)
      if (h.outcome === 'throw') throw new Error(`hook${i} broke`)
    }, { phase: h.phase })
  })

  const servers: Server[] = []
  const sockets: Socket[] = []
  const agents = Array.from({ length: CONNECTIONS }, () => new Agent({ keepAlive: true, maxSockets: 1 }))
  const accepted = new Map<number, () => void>()
  const received = new Map<number, number>()
  /** Requests the app has answered: their responses are on their way. */
  const answered = new Set<number>()
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    const [, id, after] = /^\/(\d+)\?after=(\d+)$/.exec(req.url ?? '') ?? []
    received.set(Number(id), clock.now())
    accepted.get(Number(id))?.()
    clock.setTimeout(() => {
      answered.add(Number(id))
      res.end(`done ${id}`)
    }, Number(after))
  }
  const newServer = (): Server => {
    const server = createServer(controller.handler(app))
    servers.push(server)
    return server
  }
  const port = await listen(controller.attach(newServer()))

  const sent: Sent[] = []
  const send = (conn: number, after: number): Sent => {
    const id = sent.length
    const outcome = new Promise<Awaited<Sent['outcome']>>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: `/${id}?after=${after}`, agent: conn < 0 ? false : agents[conn] }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }))
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }))
      })
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }))
      req.end()
    })
    const entry: Sent = { id, after, conn, outcome, settled: false }
    void outcome.then(() => (entry.settled = true))
    sent.push(entry)
    return entry
  }

  // The signal rule, modelled independently of the coordinator.
  const model = { running: false, received: new Map<string, number>(), cut: undefined as { signal: string; at: number } | undefined }
  const modelSignal = (signal: string): void => {
    const now = clock.now()
    if (model.cut || controller.report) return
    if (!model.running) {
      model.running = true
      model.received.set(signal, now)
      return
    }
    const first = model.received.get(signal)
    if (first !== undefined && now - first < SAME_SIGNAL_WINDOW_MS) return
    if (model.received.size > 0) model.cut = { signal, at: now }
    else model.received.set(signal, now)
  }

  const attachErrors: Array<{ state: ShutdownState; code: string | undefined }> = []
  const waitedFor = new Set<number>()
  /** Moves fake time to `target` in small steps; after each, waits for the responses the app just sent to reach their clients. */
  const advanceTo = async (target: number): Promise<void> => {
    while (clock.now() < target && proc.exits.length === 0) {
      await clock.advance(Math.min(STEP_MS, target - clock.now()))
      await ioTurns()
      for (const r of sent) {
        if (!answered.has(r.id) || waitedFor.has(r.id)) continue
        waitedFor.add(r.id)
        await watchdog(`the response to request ${r.id}`, r.outcome)
      }
    }
  }

  try {
    for (const a of [...s.actions].sort((x, y) => x.at - y.at)) {
      await advanceTo(a.at)
      if (proc.exits.length > 0) break
      switch (a.type) {
        case 'request': {
          // On a keep-alive connection still busy, the agent queues it: it goes out once the one before is answered.
          const queued = a.conn >= 0 && sent.some((p) => p.conn === a.conn && !p.settled)
          const r = send(a.conn, a.after)
          const reached = new Promise<void>((resolve) => accepted.set(r.id, resolve))
          if (!queued) await watchdog(`request ${r.id} to arrive or fail`, Promise.race([reached, r.outcome.then(() => {})]))
          break
        }
        case 'signal':
          modelSignal(a.signal)
          proc.emit(a.signal)
          if (a.twice) {
            modelSignal(a.signal)
            proc.emit(a.signal)
          }
          break
        case 'shutdown':
          if (!model.running && !controller.report) model.running = true
          void controller.shutdown('app')
          break
        case 'connect': {
          const socket = connect(port, '127.0.0.1')
          socket.on('error', () => {})
          sockets.push(socket)
          // Refused once the listener is closed: either way it is settled.
          await watchdog('an idle connection', new Promise((resolve) => socket.once('connect', resolve).once('close', resolve)))
          break
        }
        case 'attach': {
          const state = controller.state
          const late = newServer()
          await listen(late)
          try {
            controller.attach(late)
          } catch (error) {
            attachErrors.push({ state, code: (error as { code?: string }).code })
            late.close()
          }
          break
        }
      }
      await ioTurns()
    }
    if (!controller.isShuttingDown) {
      modelSignal('SIGTERM')
      proc.emit('SIGTERM')
    }
    const start = leavingAt!
    await advanceTo(start + timeoutMs + STEP_MS)

    // Never past timeoutMs, and an exit with the report's code.
    const report: ShutdownReport | undefined = controller.report
    expect(report, 'a report by timeoutMs').toBeDefined()
    expect(proc.exits.length, 'the process exited').toBeGreaterThan(0)
    expect(report!.durationMs).toBeLessThanOrEqual(timeoutMs)
    expect(proc.exitedWith, 'the exit code is the report\'s').toBe(report!.exitCode)

    // A second signal is one by the rule, and nothing else is.
    if (model.cut) {
      expect(report!.secondSignal).toBe(model.cut.signal)
      expect(report!.exitCode).toBe(128 + (constants.signals as Record<string, number>)[model.cut.signal]!)
    } else {
      expect(report!.secondSignal, 'no second signal was sent').toBeUndefined()
    }

    // Every accepted request the app completed before the drain's deadline got its response.
    const draining = report!.timeline.find((t) => t.state === 'draining')
    const deadline = draining === undefined ? Infinity : start + draining.offsetMs + s.drainTimeoutMs
    for (const r of sent) {
      const acceptedAt = received.get(r.id)
      if (acceptedAt === undefined) continue
      const completes = acceptedAt + r.after
      if (completes >= deadline || completes >= start + timeoutMs) continue
      if (model.cut && completes >= model.cut.at) continue
      const outcome = await watchdog(`the response to request ${r.id}`, r.outcome)
      expect(outcome, `request ${r.id} (accepted at ${acceptedAt}, completed at ${completes}, deadline ${deadline})`).toEqual({ ok: true, status: 200, body: `done ${r.id}` })
    }

    // attach() is refused exactly once the drain is over.
    for (const e of attachErrors) {
      expect(['closing', 'closed']).toContain(e.state)
      expect(e.code).toBe('LASTCALL_INVALID_STATE')
    }

    // Faults of user code are reported, never fatal.
    if (s.throwingLogger) expect(proc.lines.some((l) => l.startsWith('[lastcall] the logger threw'))).toBe(true)
    if (s.throwingListener && !s.throwingLogger) expect(proc.lines).toContain('[lastcall] a "closed" listener threw: closed listener broke; the shutdown goes on')
  } finally {
    controller.dispose()
    for (const a of agents) a.destroy()
    for (const socket of sockets) socket.destroy()
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
  }
}

describe('ShutdownController (property)', () => {
  it('never loses an accepted request completed in time, never outlives timeoutMs, always exits with the report\'s code', async () => {
    const seed = Number(process.env.LASTCALL_PROPERTY_SEED ?? Date.now() % 2 ** 31)
    try {
      await fc.assert(fc.asyncProperty(scenario, run), { seed, numRuns: 400, endOnFailure: true })
    } catch (error) {
      console.error(`property failed: replay with LASTCALL_PROPERTY_SEED=${seed}`)
      throw error
    }
  }, 60_000)
})
