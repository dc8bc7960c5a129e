/**
 * A real PM2 7 (the npm package, a private PM2_HOME, stopped with `pm2 kill`)
 * runs fixtures/platform-app.mjs on a port picked at run time, while 32
 * keep-alive clients on loopback send requests straight to it; `pm2 reload`
 * and `pm2 stop` happen under that load. With PM2's own defaults (SIGINT,
 * SIGKILL after 1.6 s) and with the recipe's settings (pm2/ecosystem.config.cjs),
 * no request may be lost, every instance must exit 0 before PM2 kills it, and
 * a cluster reload must cost at most about twice what it costs for an app
 * that exits at once.
 *
 * "Lost" is a request that was sent and not answered (a reset, a hang, a
 * 503); a refused connect sent nothing, and is what a fork-mode restart or a
 * stop leaves clients with while nothing listens. See expectNothingLost for
 * the one loss at a stop that no app can prevent.
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { freePort, type OutcomeKind } from '@lastcall/testing'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { lost, pacedLoad } from './load.js'
import { completions, listenForEvents, scratch, type AppEvent, type Events } from './platforms.js'

const require = createRequire(import.meta.url)
const app = join(import.meta.dirname, 'fixtures', 'platform-app.mjs')
/** The recipe's app entry, its settings taken as they are. */
const recipe = (require('../pm2/ecosystem.config.cjs') as { apps: Array<Record<string, unknown>> }).apps[0]!

let pm2Bin: string | undefined
let unavailable: string | undefined
beforeAll(async () => {
  try {
    pm2Bin = require.resolve('pm2/bin/pm2')
  } catch (error) {
    unavailable = `pm2 is not installed (devDependency of examples/deploy): ${(error as Error).message}`
    return
  }
  const probe = scratch('lastcall-pm2-probe-')
  try {
    // `pm2 ping` starts the daemon and answers through it: the daemon is what the tests need.
    await pm2(probe.dir, ['ping'])
  } catch (error) {
    unavailable = `pm2 does not start here: ${(error as Error).message.split('\n')[0]}`
  } finally {
    // Any pm2 command starts a daemon in that PM2_HOME: stop it before removing the folder.
    await pm2(probe.dir, ['kill']).catch(() => {})
    probe.remove()
  }
})

function pm2(home: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [pm2Bin!, ...args], { env: { ...process.env, PM2_HOME: home }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pm2 ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve({ ms: Math.round(performance.now() - t0), stdout })
    })
  })
}

interface Run {
  home: string
  events: Events
  port: number
  remove(): void
}
const runs: Run[] = []
afterEach(async () => {
  for (const r of runs.splice(0)) {
    await pm2(r.home, ['kill']).catch(() => {})
    await r.events.close()
    r.remove()
  }
})

/** Starts `name` under a fresh PM2 daemon and resolves once every instance listens. */
async function start(context: { skip: (note?: string) => void }, settings: Record<string, unknown>, appEnv: Record<string, string>): Promise<Run> {
  if (unavailable !== undefined) context.skip(unavailable)
  const s = scratch('lastcall-pm2-')
  const events = await listenForEvents(s.dir)
  const port = await freePort()
  const run = { home: join(s.dir, 'home'), events, port, remove: s.remove }
  runs.push(run)
  const instances = (settings.instances as number | undefined) ?? 1
  const ecosystem = join(s.dir, 'ecosystem.json')
  writeFileSync(ecosystem, JSON.stringify({ apps: [{ ...settings, name: 'app', script: app, cwd: s.dir, env: { ...(settings.env as object), ...appEnv, PORT: String(port), EVENTS: events.path } }] }))
  await pm2(run.home, ['start', ecosystem])
  await events.count((e) => e.event === 'listening', instances)
  return run
}

interface Measured {
  counts: Record<OutcomeKind, number>
  /** Outcomes before, during and after `pm2 reload`, and during `pm2 stop`. */
  byPhase: Record<string, Record<string, number>>
  /** Each instance's shutdown, signal to exit, from its own report. */
  shutdownMs: number[]
  reloadMs: number
  stopMs: number
  reports: AppEvent[]
}

/** Keep-alive load; once it runs, `pm2 reload`, more load on the new instances, `pm2 stop`; then the load ends. */
async function reloadAndStopUnderLoad(run: Run, instances: number): Promise<Measured> {
  const done = new AbortController()
  const progress = completions()
  let phase = 'before'
  const byPhase: Record<string, Record<string, number>> = {}
  // In cluster mode the port never closes during a reload, so a refused connect means the stop is over: that
  // client has nowhere to go. A fork-mode restart closes the port for a moment: its clients try again.
  const load = pacedLoad({ port: run.port, connections: 32, pauseMs: 5, maxRequests: 40_000, signal: done.signal, stopOnRefused: instances > 1, onOutcome: (o) => {
    progress.onOutcome(o)
    const p = (byPhase[phase] ??= {})
    p[o.kind] = (p[o.kind] ?? 0) + 1
  } })
  try {
    await progress.more(500)
    phase = 'reload'
    const reload = await pm2(run.home, ['reload', 'app'])
    phase = 'after-reload'
    await run.events.count((e) => e.event === 'listening', 2 * instances)
    await progress.more(500)
    phase = 'stop'
    const stop = await pm2(run.home, ['stop', 'app'])
    phase = 'after-stop'
    done.abort()
    const { counts } = await load
    const reports = run.events.all.filter((e) => e.event === 'report')
    return { counts, byPhase, reloadMs: reload.ms, stopMs: stop.ms, reports, shutdownMs: reports.map((e) => (e.report as { durationMs: number }).durationMs) }
  } finally {
    done.abort()
    await load
  }
}

const lostIn = (m: Measured, phase: string): number => lost({ completed: 0, rejected: 0, 'reset-reused': 0, 'reset-new': 0, refused: 0, hung: 0, ...m.byPhase[phase] })

/**
 * Nothing is lost around a reload. Around a stop, nothing sent on a
 * connection a worker had accepted is lost (no reset of a reused
 * connection, no 503). A new connection that PM2's primary accepted in the
 * last instant, when every worker had stopped listening but its own port was
 * not yet closed, is dropped by Node's cluster code before any worker sees
 * it: that is reported, not asserted (the same happens to any app).
 */
function expectNothingLost(m: Measured): void {
  for (const phase of ['before', 'reload', 'after-reload']) expect(lostIn(m, phase), phase).toBe(0)
  for (const phase of ['stop', 'after-stop']) {
    expect(m.byPhase[phase]?.['reset-reused'] ?? 0, `${phase}: reset of a reused connection`).toBe(0)
    expect(m.byPhase[phase]?.rejected ?? 0, `${phase}: 503`).toBe(0)
  }
}

const summary = (m: Measured): string => `${JSON.stringify(m.byPhase)}; pm2 reload ${m.reloadMs} ms, pm2 stop ${m.stopMs} ms, shutdowns ${m.shutdownMs.join(', ')} ms`

/**
 * Two generations of instances, each exited by itself before PM2's SIGKILL, no request cut. With PM2's
 * default 1.6 s, lastcall's budget is 1200 ms (a margin of a quarter, 400 ms; drain 600): on a starved machine (the new worker starting
 * beside it) the drain's deadline may close an idle keep-alive connection it was still lingering on,
 * which the report counts and the exit code says (1); no request is in it. Elsewhere the exit code is 0.
 */
function expectCleanExits(m: Measured, instances: number, trigger: object, { killMs = 30_000, tight = false } = {}): void {
  expect(m.reports).toHaveLength(2 * instances)
  // Under PM2's default, before its SIGKILL; with the recipe, far below the 10 s delay maximum it used to wait.
  for (const ms of m.shutdownMs) expect(ms).toBeLessThan(tight ? killMs : 3000)
  for (const { report } of m.reports as Array<AppEvent & { report: { exitCode: number; trigger: object; requests: { forced: number }; connections: { forced: number } } }>) {
    expect(report.requests.forced).toBe(0)
    if (tight && report.exitCode !== 0) expect(report.connections.forced).toBeGreaterThan(0)
    else expect(report.exitCode).toBe(0)
    expect([trigger, { type: 'signal', signal: 'SIGINT' }]).toContainEqual(report.trigger)
  }
}

describe('PM2 7, cluster mode, 2 instances, 32 keep-alive clients on the port', { timeout: 90_000 }, () => {
  it('with PM2’s own defaults (SIGINT, kill_timeout 1.6 s): reload and stop lose no request, every worker exits 0 before PM2’s SIGKILL, a reload costs at most about twice an app that exits at once', async (context) => {
    const baseline = await start(context, { instances: 2, exec_mode: 'cluster' }, { APP: 'exit-at-once' })
    const base = await reloadAndStopUnderLoad(baseline, 2)

    const run = await start(context, { instances: 2, exec_mode: 'cluster' }, { APP: 'lastcall' })
    const platform = await run.events.next((e) => e.event === 'platform')
    expect(platform).toMatchObject({ platform: 'pm2', label: 'PM2 cluster mode', readinessDelayMs: 0, timeoutMs: 1200 })
    const m = await reloadAndStopUnderLoad(run, 2)
    console.info(`[pm2 cluster, PM2 defaults] lastcall: ${summary(m)}\n  exit-at-once: ${JSON.stringify(base.byPhase)}; pm2 reload ${base.reloadMs} ms, pm2 stop ${base.stopMs} ms`)

    expectNothingLost(m)
    expect(m.counts.completed).toBeGreaterThan(1000)
    expectCleanExits(m, 2, { type: 'signal', signal: 'SIGINT' }, { killMs: 1600, tight: true })
    // PM2's own work (the CLI, starting each new worker) dominates a reload and swings with the machine's load;
    // lastcall's part is each old worker's shutdown, bounded above.
    expect(m.reloadMs).toBeLessThanOrEqual(2 * base.reloadMs + 1000)
  })

  it('with the recipe (wait_ready, kill_timeout 30 s, shutdown_with_message): reload and stop lose no request and each worker drains in a fraction of a second (measured 15-180 ms), not at the 10 s delay maximum', async (context) => {
    const run = await start(context, { ...recipe, instances: 2 }, { APP: 'lastcall' })
    expect(await run.events.next((e) => e.event === 'platform')).toMatchObject({ platform: 'pm2', readinessDelayMs: 0, timeoutMs: 25_000 })
    const m = await reloadAndStopUnderLoad(run, 2)
    console.info(`[pm2 cluster, recipe] lastcall: ${summary(m)}`)
    expectNothingLost(m)
    expectCleanExits(m, 2, { type: 'message', message: 'shutdown' })
  })
})

describe('PM2 7, fork mode, one instance, 32 keep-alive clients on the port', { timeout: 90_000 }, () => {
  let fork: Measured | undefined
  it('with PM2’s own defaults: reload (a restart in fork mode) and stop end with the instance exiting 0 before PM2’s SIGKILL, the automatic delay within its fitted 300 ms', async (context) => {
    const run = await start(context, { exec_mode: 'fork' }, { APP: 'lastcall' })
    expect(await run.events.next((e) => e.event === 'platform')).toMatchObject({ platform: 'pm2', label: 'PM2 fork mode', readinessDelayMs: 'auto', timeoutMs: 1200 })
    fork = await reloadAndStopUnderLoad(run, 1)
    console.info(`[pm2 fork, PM2 defaults] lastcall: ${summary(fork)}`)
    expectCleanExits(fork, 1, { type: 'signal', signal: 'SIGINT' }, { killMs: 1600, tight: true })
  })

  // Between 4462e7c and keepAliveHint (now off by default) core answered `Keep-Alive: timeout=1` from the
  // moment readiness failed: Node's http.Agent then opened a new connection for every request during the
  // automatic delay, and those still in the listen backlog when the listener closed were reset (~30
  // reset-new per restart here). Without the hint the agent keeps its connections and nothing is lost.
  it('with PM2’s own defaults: reload and stop lose no request', (context) => {
    if (fork === undefined) return context.skip('the fork-mode run above did not complete')
    expectNothingLost(fork)
  })
})
