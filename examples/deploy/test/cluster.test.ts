/**
 * Node's own cluster, for real: a primary running clusterPrimary() and two
 * workers with lastcall's defaults, 32 keep-alive clients straight on the
 * shared port. A worker recognises itself as a cluster worker and takes no
 * readiness delay; SIGHUP restarts the workers one by one (clusterPrimary's
 * rolling restart) and SIGTERM stops the cluster, and neither loses a request
 * a worker had accepted.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort } from '@lastcall/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { lost, pacedLoad } from './load.js'
import { completions, listenForEvents, scratch, type AppEvent } from './platforms.js'

const primaryFile = join(import.meta.dirname, 'fixtures', 'cluster-primary.mjs')
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('node:cluster with clusterPrimary(), 2 workers, 32 keep-alive clients on the port', { timeout: 40_000 }, () => {
  it('workers take no readiness delay; a rolling restart (SIGHUP) and the shutdown (SIGTERM) lose no request and every worker exits 0', async () => {
    const s = scratch('lastcall-cluster-')
    cleanups.push(s.remove)
    const events = await listenForEvents(s.dir)
    cleanups.push(() => events.close())
    const port = await freePort()
    const primary = spawn(process.execPath, [primaryFile], { env: { ...process.env, PORT: String(port), EVENTS: events.path, APP: 'lastcall', WORKERS: '2' }, stdio: ['ignore', 'inherit', 'inherit'] })
    const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)))
    cleanups.push(() => {
      if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL')
      // Workers exit when the primary's channel closes; kill any left by pid.
      for (const e of events.all) if (e.event === 'listening') try { process.kill(e.pid, 'SIGKILL') } catch { /* gone */ }
    })
    const died = exited.then((code) => Promise.reject(new Error(`the primary exited with ${code} early`)))
    died.catch(() => {})
    await Promise.race([events.count((e) => e.event === 'listening', 2), died])
    const platforms = await events.count((e) => e.event === 'platform', 2)
    for (const p of platforms) expect(p).toMatchObject({ platform: 'cluster', readinessDelayMs: 0, timeoutMs: 25_000 })

    const done = new AbortController()
    const progress = completions()
    let phase = 'before'
    const byPhase: Record<string, Record<string, number>> = {}
    const load = pacedLoad({ port, connections: 32, pauseMs: 5, maxRequests: 40_000, signal: done.signal, stopOnRefused: true, onOutcome: (o) => {
      progress.onOutcome(o)
      const p = (byPhase[phase] ??= {})
      p[o.kind] = (p[o.kind] ?? 0) + 1
    } })
    await progress.more(500)
    phase = 'restart'
    const t0 = performance.now()
    primary.kill('SIGHUP')
    const restarted = (await Promise.race([events.next((e) => e.event === 'restarted'), died])) as AppEvent & { result: { ok: boolean; replaced: unknown[] } }
    const restartMs = Math.round(performance.now() - t0)
    phase = 'after-restart'
    await progress.more(500)
    phase = 'stop'
    primary.kill('SIGTERM')
    expect(await exited).toBe(0)
    done.abort()
    const { counts } = await load
    const reports = events.all.filter((e) => e.event === 'report') as Array<AppEvent & { report: { exitCode: number; durationMs: number; readinessDelay: { rule: string } } }>
    console.info(`[node:cluster] ${JSON.stringify(byPhase)}; rolling restart of 2 workers ${restartMs} ms; worker shutdowns ${reports.map((r) => r.report.durationMs).join(', ')} ms`)

    expect(restarted.result).toMatchObject({ ok: true })
    expect(restarted.result.replaced).toHaveLength(2)
    // The rolling restart loses nothing and refuses nothing: the port never closes.
    for (const phase of ['before', 'restart', 'after-restart']) expect(lost({ completed: 0, rejected: 0, 'reset-reused': 0, 'reset-new': 0, refused: 0, hung: 0, ...byPhase[phase] }), phase).toBe(0)
    expect(byPhase.restart?.refused ?? 0).toBe(0)
    // At the shutdown nothing sent on a connection a worker accepted is lost. A new connection the primary
    // accepted after the last worker stopped listening is closed by Node's cluster code before any worker
    // sees it (0 to 5 measured here): reported above, not asserted, since no worker code can prevent it.
    expect(byPhase.stop?.['reset-reused'] ?? 0).toBe(0)
    expect(byPhase.stop?.rejected ?? 0).toBe(0)
    expect(counts.hung).toBe(0)
    expect(counts.completed).toBeGreaterThan(1000)
    // Two replaced in the restart, two stopped by SIGTERM; none waited for a balancer.
    expect(reports).toHaveLength(4)
    for (const { report } of reports) expect(report).toMatchObject({ exitCode: 0, readinessDelay: { rule: 'none' } })
    expect(events.all.filter((e) => e.event === 'listening')).toHaveLength(4)
  })
})
