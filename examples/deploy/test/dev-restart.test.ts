/**
 * Dev restarts for real: nodemon 3 (devDependency) and `node --watch` restart
 * fixtures/platform-app.mjs (lastcall's defaults) while keep-alive clients
 * use it. Neither watcher ever escalates to SIGKILL, so a process that does
 * not exit hangs the restart. lastcall must recognise the watcher, handle
 * its signal (nodemon: SIGUSR2, sent twice; --watch: SIGTERM), wait for no
 * balancer, exit 0 in well under a second and free the port for the next
 * process, which listens on the same one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { freePort } from '@lastcall/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { lost, pacedLoad } from './load.js'
import { completions, listenForEvents, scratch, type AppEvent, type Events } from './platforms.js'

const require = createRequire(import.meta.url)
const app = join(import.meta.dirname, 'fixtures', 'platform-app.mjs')
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

type Report = { exitCode: number; durationMs: number; trigger: { type: string; signal?: string }; readinessDelay: { rule: string } }

interface Watched {
  events: Events
  port: number
  dir: string
  watcher: ChildProcess
}

/** Starts `command` (a watcher running dir/entry.mjs, which loads the fixture app) and waits until the app listens. */
async function startWatched(command: (entry: string, dir: string) => string[], stdin: 'pipe' | 'ignore' = 'ignore'): Promise<Watched> {
  const s = scratch('lastcall-dev-')
  cleanups.push(s.remove)
  const events = await listenForEvents(s.dir)
  cleanups.push(() => events.close())
  const port = await freePort()
  const entry = join(s.dir, 'entry.mjs')
  writeFileSync(entry, `import ${JSON.stringify(app)}\n`)
  const watcher = spawn(process.execPath, command(entry, s.dir), { cwd: s.dir, env: { ...process.env, PORT: String(port), EVENTS: events.path, APP: 'lastcall' }, stdio: [stdin, 'ignore', 'inherit'] })
  cleanups.push(async () => {
    if (watcher.exitCode === null && watcher.signalCode === null) {
      const gone = new Promise((resolve) => watcher.once('exit', resolve))
      watcher.kill('SIGKILL')
      await gone
    }
    for (const e of events.all) if (e.event === 'listening') try { process.kill(e.pid, 'SIGKILL') } catch { /* gone */ }
  })
  await events.next((e) => e.event === 'listening')
  return { events, port, dir: s.dir, watcher }
}

/** Restarts through `restart()` under light keep-alive load; returns the old process's report, the restart time and the load's outcomes. */
async function restartUnderLoad(w: Watched, restart: () => void) {
  const first = await w.events.next((e) => e.event === 'listening')
  const done = new AbortController()
  const progress = completions()
  const load = pacedLoad({ port: w.port, connections: 4, pauseMs: 10, maxRequests: 5000, signal: done.signal, onOutcome: progress.onOutcome })
  await progress.more(50)
  const t0 = performance.now()
  restart()
  const next = await w.events.next((e) => e.event === 'listening' && e.pid !== first.pid)
  const restartMs = Math.round(performance.now() - t0)
  await progress.more(50)
  done.abort()
  const { counts } = await load
  const report = ((await w.events.next((e) => e.event === 'report' && e.pid === first.pid)) as AppEvent & { report: Report }).report
  const platform = await w.events.next((e) => e.event === 'platform' && e.pid === next.pid)
  return { report, restartMs, counts, platform }
}

describe('nodemon 3', { timeout: 30_000 }, () => {
  it('restarts with SIGUSR2 (twice): lastcall drains with no delay, ignores the repeat, exits 0 in well under a second, and the new process gets the port', async () => {
    const nodemon = require.resolve('nodemon/bin/nodemon.js')
    // `rs` on stdin is nodemon's own restart command: the same kill path as a file change, without racing its file watcher.
    const w = await startWatched((entry) => [nodemon, '--quiet', '--watch', 'nothing-to-watch', entry], 'pipe')
    const r = await restartUnderLoad(w, () => w.watcher.stdin!.write('rs\n'))
    console.info(`[nodemon] restart ${r.restartMs} ms (signal to new process listening), old process's shutdown ${r.report.durationMs} ms, load ${JSON.stringify(r.counts)}`)
    expect(r.platform).toMatchObject({ platform: 'nodemon', readinessDelayMs: 0, signals: ['SIGTERM', 'SIGINT', 'SIGUSR2'] })
    expect(r.report).toMatchObject({ exitCode: 0, trigger: { type: 'signal', signal: 'SIGUSR2' }, readinessDelay: { rule: 'none' } })
    expect(r.report.durationMs).toBeLessThan(1000)
    expect(lost(r.counts)).toBe(0)
  })
})

describe('node --watch', { timeout: 30_000 }, () => {
  it('restarts with SIGTERM: lastcall drains with no delay, exits 0 in well under a second, and the new process gets the port', async () => {
    let entry = ''
    const w = await startWatched((e, dir) => ((entry = e), ['--watch-path', dir, e]))
    const r = await restartUnderLoad(w, () => writeFileSync(entry, `import ${JSON.stringify(app)}\n// changed\n`))
    console.info(`[node --watch] restart ${r.restartMs} ms (file change to new process listening), old process's shutdown ${r.report.durationMs} ms, load ${JSON.stringify(r.counts)}`)
    expect(r.platform).toMatchObject({ platform: 'node-watch', readinessDelayMs: 0, signals: ['SIGTERM', 'SIGINT'] })
    expect(r.report).toMatchObject({ exitCode: 0, trigger: { type: 'signal', signal: 'SIGTERM' }, readinessDelay: { rule: 'none' } })
    expect(r.report.durationMs).toBeLessThan(1000)
    expect(lost(r.counts)).toBe(0)
  })
})
