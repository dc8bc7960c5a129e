/**
 * The harness shape shared by runtime drivers whose app is a fetch handler on
 * a server the runtime runs itself (`Bun.serve` through `@lastcall/bun`,
 * `Deno.serve` through `@lastcall/deno`): what differs per runtime is the app
 * and how it listens; the tests core's held linger keeps from passing and the
 * plain-text 503 are the same for both.
 */
import type { Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ShutdownController, ShutdownOptions, ShutdownReport } from '@lastcall/core'
import { fixtureCommand, get, send, type Outcome, type Runtime } from '@lastcall/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import type { AdapterUnderTest, AppKit } from './app.js'
import { startFixture, type Fixture } from './child.js'
import type { FixtureCommand } from './fixture.js'

export interface NativeServerAdapter {
  /** Shown in test names: `Bun.serve`. */
  name: string
  /** The fixture that runs this app (`runFixture(create)`), as a file URL. */
  fixture: URL
  /**
   * The runtime's call that stops listening and closes the idle keep-alive
   * connections with it, as the reason of the held-linger failures names it:
   * `` `Bun.serve`'s `stop(false)` ``.
   */
  stop: string
  /**
   * Builds the app behind the driver, with the routes every app serves (see
   * `AdapterApp`). `listen` starts the runtime's server on 127.0.0.1 (the
   * driver attaches it) and resolves with its port. Runs in the runtime's
   * fixture only: the suite drives it over stdin (`runConformance(..., { runtime })`).
   */
  build(options: ShutdownOptions, kit: AppKit): { controller: ShutdownController; listen(port: number): Promise<number> }
}

/**
 * The conformance tests that set `idleLingerMs` (10 s) above `drainTimeoutMs`
 * (5 s), to keep idle sockets open on Node. On a native server whose stop
 * closes idle connections, core's held linger (`NativeDrain.held`) makes the
 * request sent on a reused socket wait for the linger, and the drain deadline
 * cuts it first. With `idleLingerMs` below `drainTimeoutMs` (the default, and
 * what the controller warns about otherwise) it is served.
 */
export const HELD_LINGER_TESTS = [
  'stay reachable on open connections while draining: liveness 200, readiness 503',
  'serves a request on an open connection with Connection: close by default',
  'rejects with 503, Retry-After and Connection: close under whileDraining "reject", counted, probes still answering',
] as const

/** Why each of `HELD_LINGER_TESTS` fails on a server stopped by `stop` (measured: docs/runtimes.md, "Bun.serve" and "Deno.serve"). */
export function heldLingerReason(stop: string): string {
  return `the test sets idleLingerMs (10 s) above drainTimeoutMs (5 s) to keep idle sockets open on Node; ${stop} closes every idle keep-alive connection in the same call, so lastcall holds the requests arriving during idleLingerMs and stops the server after it (docs/runtimes.md), and the drain deadline comes first: the held request on the reused socket is cut`
}

/** The `AdapterUnderTest` for an app on a runtime's own server (see `NativeServerAdapter`). */
export function nativeServerAdapter({ name, fixture, stop, build }: NativeServerAdapter): AdapterUnderTest {
  const reason = heldLingerReason(stop)
  return {
    name,
    fixture: fileURLToPath(fixture),
    knownFailures: Object.fromEntries(HELD_LINGER_TESTS.map((test) => [test, reason])),
    expectRejectedBody(body, contentType) {
      expect(contentType).toMatch(/^text\/plain/)
      expect(body).toBe('Service Unavailable: shutting down\n')
    },
    create(options, kit) {
      const { controller, listen } = build(options, kit)
      return {
        controller,
        // No node:net server here: the suite reads it only in-process, which a runtime's fixture never is.
        server: undefined as unknown as Server,
        listen: (port = 0) => listen(port),
      }
    },
  }
}

/**
 * How a native driver learns that a response is over without following its
 * body (`FetchGate`'s `sent` and `serverFollowsResponses`), checked on the
 * runtime with the app of `adapter` in its fixture: the drain still waits for
 * a streaming body, the deadline still cuts one that never ends, and a fixed
 * body goes out as the runtime sends it (with its `Content-Length`).
 */
export function describeNativeResponses(adapter: AdapterUnderTest, runtime: Runtime): void {
  const unavailable = fixtureCommand(runtime, adapter.fixture).skip
  ;(unavailable === undefined ? describe : describe.skip)(`${adapter.name} responses on ${runtime}${unavailable ? ` [SKIPPED: ${unavailable}]` : ''}`, () => {
    const running: Fixture[] = []
    afterEach(() => {
      for (const f of running.splice(0)) f.kill()
    })
    async function start(options: ShutdownOptions): Promise<Fixture> {
      const f = await startFixture(adapter.fixture, { options: { readinessDelayMs: 0, ...options }, control: true }, { runtime })
      running.push(f)
      return f
    }
    const reportOf = (f: Fixture): ShutdownReport | undefined => f.events.find((e) => e.event === 'report')?.report as ShutdownReport | undefined

    it('sends a fixed body with its Content-Length, as the runtime does without lastcall', async () => {
      const f = await start({})
      const reply = await get(f.port, '/download?bytes=1000')
      expect(reply.headers['content-length']).toBe('1000')
      expect(reply.headers['transfer-encoding']).toBeUndefined()
      expect(reply.body).toHaveLength(1000)
    })

    it('waits past the server\'s stop for a streaming body in flight at SIGTERM, sends it whole, exits 0', async () => {
      const f = await start({ drainTimeoutMs: 10_000 })
      const pending = await sentHead(f.port, '/stream')
      f.child.kill('SIGTERM')
      await f.waitFor((e) => e.event === 'state' && e.state === 'draining')
      // Held until the server was told to stop (the linger), then answered: the server has stopped when it arrives.
      expect((await get(f.port, '/ok', { agent: false })).status).toBe(200)
      expect(reportOf(f)).toBeUndefined()
      f.command({ cmd: 'openGate' } satisfies FixtureCommand)
      expect(await pending.outcome).toMatchObject({ ok: true, reply: { status: 200, body: 'part one;part two' } })
      const { code } = await f.exited
      expect(code, f.stderr()).toBe(0)
      expect(reportOf(f)?.requests).toMatchObject({ inFlightAtDrain: 1, forced: 0 })
    })

    it('cuts a body that never ends at the drain deadline, counts it as forced, exits 1', async () => {
      const f = await start({ drainTimeoutMs: 1000 })
      const pending = await sentHead(f.port, '/partial')
      f.child.kill('SIGTERM')
      expect((await pending.outcome).ok).toBe(false)
      const { code } = await f.exited
      expect(code, f.stderr()).toBe(1)
      expect(reportOf(f)?.requests).toMatchObject({ inFlightAtDrain: 1, forced: 1, completed: 0 })
    })
  })
}

/** Sends `path` on a fresh connection; resolves once the response's head has arrived, with the outcome still to come (wrapped, so awaiting this does not wait for it). */
function sentHead(port: number, path: string): Promise<{ outcome: Promise<Outcome> }> {
  return new Promise((resolve) => {
    const outcome = send(port, path, { agent: false, onResponse: () => resolve({ outcome }) })
  })
}
