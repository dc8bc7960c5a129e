#!/usr/bin/env node
// Rolling restart behind HAProxy: three instances of a server variant, bounded
// keep-alive load through HAProxy, each instance in turn gets SIGTERM and is
// replaced, in both orders, with HAProxy's default check timing and with fast
// checks. Every request is classified; results go to docs/bench/.
//
//   node bench/rolling-restart/run.mjs [--variants a,b] [--quick] [--connections 64] [--out docs/bench]
//
// Needs HAProxy (installed with apt-get when missing, as root on Debian) and a
// built @lastcall/core (`pnpm build`).
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, totalmem, tmpdir, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderChart } from './chart.mjs'
import { startLoad } from './client.mjs'
import { ensureHaproxy, startHaproxy } from './haproxy.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')

/**
 * The server variants. A variant is one small file in variants/ that serves
 * app.mjs's routes and prints `LISTENING <port>`; arguments pick its options.
 * @type {Record<string, { file: string, args?: string[], about: string }>}
 */
const VARIANTS = {
  lastcall: { file: 'lastcall.mjs', about: 'lastcall core, library defaults' },
  'lastcall-delay-0': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '0'], about: 'lastcall core, readinessDelayMs 0' },
  'lastcall-delay-2000': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '2000'], about: 'lastcall core, readinessDelayMs 2000' },
  'lastcall-delay-5000': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '5000'], about: 'lastcall core, readinessDelayMs 5000' },
  'naive-exit': { file: 'naive-exit.mjs', about: 'process.exit() on SIGTERM' },
  'server-close': { file: 'server-close.mjs', about: 'server.close(), exit when it calls back' },
  terminus: { file: 'terminus.mjs', about: '@godaddy/terminus defaults, /readyz health check' },
  'http-terminator': { file: 'http-terminator.mjs', about: 'http-terminator defaults' },
  stoppable: { file: 'stoppable.mjs', about: 'stoppable defaults' },
}

const TIMINGS = {
  default: { inter: '2s', fall: 3, about: 'HAProxy default check timing (inter 2s fall 3)' },
  fast: { inter: '500ms', fall: 1, about: 'fast checks (inter 500ms fall 1)' },
}
const ORDERS = {
  'same-port': 'old exits, then the replacement starts on the same port',
  'up-first': 'replacement up on a new port (spare HAProxy slot) before the old gets SIGTERM',
}

/** An instance gets this long from SIGTERM to exit before it is killed (and that counts). */
const EXIT_TIMEOUT_MS = 20_000
const WARMUP_MS = 700
const SETTLE_MS = 300
const COOLDOWN_MS = 700

const { values: opts } = parseArgs({
  options: {
    variants: { type: 'string' },
    quick: { type: 'boolean', default: false },
    connections: { type: 'string', default: '64' },
    pause: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'docs', 'bench') },
    seed: { type: 'string', default: '1' },
  },
})
const variantNames = opts.variants ? opts.variants.split(',') : Object.keys(VARIANTS)
for (const v of variantNames) if (!VARIANTS[v]) throw new Error(`unknown variant "${v}"; known: ${Object.keys(VARIANTS).join(', ')}`)
const connections = Number(opts.connections)
if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a positive integer; received "${opts.connections}"`)
// --quick: fast checks and one order only.
const timings = opts.quick ? /** @type {const} */ (['fast']) : /** @type {const} */ (['default', 'fast'])
const orders = opts.quick ? /** @type {const} */ (['same-port']) : /** @type {const} */ (['same-port', 'up-first'])

/** Every process this run started, killed by pid on the way out. */
const pids = new Set()
function killAll() {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  pids.clear()
}
process.on('SIGINT', () => {
  killAll()
  process.exit(130)
})
process.on('exit', killAll)

/** A free loopback port (bound and released). */
async function freePort() {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  server.close()
  await once(server, 'close')
  return port
}

/**
 * Starts one instance of a variant; resolves once it listens.
 * @param {{ file: string, args?: string[] }} variant
 * @param {number} port
 */
async function startInstance(variant, port) {
  const child = spawn(process.execPath, [join(here, 'variants', variant.file), '--port', String(port), ...(variant.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid !== undefined) pids.add(child.pid)
  const exited = once(child, 'exit').then(([code, signal]) => {
    if (child.pid !== undefined) pids.delete(child.pid)
    return { code: /** @type {number | null} */ (code), signal: /** @type {string | null} */ (signal) }
  })
  /** @type {unknown} */
  let report
  /** @type {string[]} */
  const log = []
  let listening = () => {}
  const ready = new Promise((r) => (listening = () => r(undefined)))
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('LISTENING ')) listening()
    else if (line.startsWith('REPORT ')) report = JSON.parse(line.slice(7))
    else log.push(line)
  })
  createInterface({ input: child.stderr }).on('line', (line) => log.push(line))
  const failed = exited.then(() => { throw new Error(`instance exited before listening: ${log.join('\n')}`) })
  failed.catch(() => {})
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await Promise.race([ready, failed])
  clearTimeout(timer)
  return {
    pid: /** @type {number} */ (child.pid),
    port,
    exited,
    get report() { return report },
    log,
    /** SIGTERM, then waits for the exit; kills after EXIT_TIMEOUT_MS. */
    async terminate() {
      child.kill('SIGTERM')
      /** @type {NodeJS.Timeout | undefined} */
      let timer
      const killed = new Promise((r) => (timer = setTimeout(() => { child.kill('SIGKILL'); r(true) }, EXIT_TIMEOUT_MS)))
      const wasKilled = await Promise.race([exited.then(() => false), killed])
      clearTimeout(timer)
      return { ...(await exited), killed: wasKilled === true }
    },
  }
}

/**
 * One scenario: a variant, a check timing, a replacement order.
 * @param {string} variantName
 * @param {keyof typeof TIMINGS} timing
 * @param {keyof typeof ORDERS} order
 */
async function scenario(variantName, timing, order) {
  const variant = /** @type {(typeof VARIANTS)[string]} */ (VARIANTS[variantName])
  const t0 = performance.now()
  const now = () => Math.round((performance.now() - t0) * 10) / 10
  const dir = mkdtempSync(join(tmpdir(), 'lastcall-bench-'))
  /** @type {{ t: number, type: string, slot: string, detail?: unknown }[]} */
  const events = []
  const frontendPort = await freePort()
  const slots = []
  for (let i = 1; i <= 6; i++) slots.push({ name: `s${i}`, port: await freePort(), enabled: i <= 3 })
  /** @type {Map<string, Awaited<ReturnType<typeof startInstance>>>} */
  const instances = new Map()
  /** @type {Awaited<ReturnType<typeof startHaproxy>> | undefined} */
  let haproxy
  /** @type {ReturnType<typeof startLoad> | undefined} */
  let load
  const reports = []
  try {
    for (const s of slots.slice(0, 3)) instances.set(s.name, await startInstance(variant, s.port))
    haproxy = await startHaproxy({ dir, frontendPort, slots, inter: TIMINGS[timing].inter, fall: TIMINGS[timing].fall }, now)
    if (haproxy.pid !== undefined) pids.add(haproxy.pid)
    for (const s of slots.slice(0, 3)) await haproxy.waitUp(s.name, 10_000)
    events.push({ t: now(), type: 'load', slot: '' })
    load = startLoad({ port: frontendPort, connections, pauseMs: Number(opts.pause), now, seed: Number(opts.seed) })
    await new Promise((r) => setTimeout(r, WARMUP_MS))

    for (let i = 0; i < 3; i++) {
      const old = /** @type {(typeof slots)[number]} */ (slots[i])
      const instance = /** @type {Awaited<ReturnType<typeof startInstance>>} */ (instances.get(old.name))
      if (order === 'same-port') {
        events.push({ t: now(), type: 'sigterm', slot: old.name })
        const exit = await instance.terminate()
        events.push({ t: now(), type: 'exit', slot: old.name, detail: exit })
        reports.push(instance.report ?? null)
        instances.set(old.name, await startInstance(variant, old.port))
        events.push({ t: now(), type: 'started', slot: old.name })
        await haproxy.waitUp(old.name, 15_000)
        events.push({ t: now(), type: 'up', slot: old.name })
      } else {
        const spare = /** @type {(typeof slots)[number]} */ (slots[i + 3])
        instances.set(spare.name, await startInstance(variant, spare.port))
        events.push({ t: now(), type: 'started', slot: spare.name })
        await haproxy.api(`set server be/${spare.name} state ready`)
        await haproxy.waitUp(spare.name, 15_000)
        events.push({ t: now(), type: 'up', slot: spare.name })
        events.push({ t: now(), type: 'sigterm', slot: old.name })
        const exit = await instance.terminate()
        events.push({ t: now(), type: 'exit', slot: old.name, detail: exit })
        reports.push(instance.report ?? null)
        // What an orchestrator does once the old instance is gone.
        await haproxy.api(`set server be/${old.name} state maint`)
        instances.delete(old.name)
      }
      await new Promise((r) => setTimeout(r, SETTLE_MS))
    }
    await new Promise((r) => setTimeout(r, COOLDOWN_MS))
    await load.stop(EXIT_TIMEOUT_MS)
    events.push({ t: now(), type: 'end', slot: '' })
    for (const e of haproxy.events) events.push({ t: e.t, type: e.state === 'DOWN' ? 'down' : 'hup', slot: e.slot })
    events.sort((a, b) => a.t - b.t)
    return analyse({ variant: variantName, timing, order, records: load.records, events, haproxyErrors: haproxy.errors, reports })
  } finally {
    if (load) await load.stop(0)
    await haproxy?.stop()
    if (haproxy?.pid !== undefined) pids.delete(haproxy.pid)
    for (const inst of instances.values()) {
      try {
        process.kill(inst.pid, 'SIGKILL')
      } catch {
        // already gone
      }
      await inst.exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Counts, p99, and each failure placed relative to the nearest SIGTERM before
 * it and to HAProxy marking that server DOWN.
 * @param {{ variant: string, timing: string, order: string, records: import('./client.mjs').RequestRecord[], events: { t: number, type: string, slot: string, detail?: unknown }[], haproxyErrors: { t: number, line: string }[], reports: unknown[] }} run
 */
function analyse(run) {
  /** @type {Record<string, number>} */
  const outcomes = {}
  for (const r of run.records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
  const ok = run.records.filter((r) => r.outcome === 'ok')
  const latencies = ok.map((r) => r.end - r.start).sort((a, b) => a - b)
  const fastLat = ok.filter((r) => r.kind !== 'slow').map((r) => r.end - r.start).sort((a, b) => a - b)
  const pct = (/** @type {number[]} */ xs, /** @type {number} */ p) => (xs.length === 0 ? 0 : Math.round(/** @type {number} */ (xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]) * 10) / 10)
  const sigterms = run.events.filter((e) => e.type === 'sigterm')
  const failures = run.records.filter((r) => r.outcome !== 'ok').map((r) => {
    const term = [...sigterms].reverse().find((e) => e.t <= r.end)
    const down = term && run.events.find((e) => e.type === 'down' && e.slot === term.slot && e.t >= term.t)
    const exit = term && run.events.find((e) => e.type === 'exit' && e.slot === term.slot && e.t >= term.t)
    return {
      outcome: r.outcome,
      kind: r.kind,
      startMs: r.start,
      endMs: r.end,
      afterSigtermMs: term ? Math.round(r.end - term.t) : null,
      slot: term?.slot ?? null,
      relativeToDownMs: down ? Math.round(r.end - down.t) : null,
      relativeToExitMs: exit ? Math.round(r.end - exit.t) : null,
    }
  })
  const exits = run.events.filter((e) => e.type === 'exit').map((e) => {
    const term = sigterms.find((s) => s.slot === e.slot && s.t <= e.t)
    const down = run.events.find((d) => d.type === 'down' && d.slot === e.slot && term && d.t >= term.t)
    const detail = /** @type {{ code: number | null, signal: string | null, killed: boolean }} */ (e.detail)
    return { slot: e.slot, sigtermToExitMs: term ? Math.round(e.t - term.t) : null, sigtermToDownMs: down && term ? Math.round(down.t - term.t) : null, ...detail }
  })
  // Every failure, grouped by the SIGTERM it follows: when the window opened
  // and closed relative to SIGTERM, HAProxy's DOWN, the exit and the replacement's UP.
  const windows = sigterms.map((term, i) => {
    const next = sigterms[i + 1]?.t ?? Infinity
    const mine = failures.filter((f) => f.endMs >= term.t && f.endMs < next)
    const at = (/** @type {string} */ type, /** @type {string} */ slot) => run.events.find((e) => e.type === type && e.slot === slot && e.t >= term.t)
    const down = at('down', term.slot)
    const exit = at('exit', term.slot)
    const upEvent = run.events.find((e) => e.type === 'up' && e.t >= term.t - 20_000 && e.t < next && (run.order === 'same-port' ? e.slot === term.slot && e.t >= term.t : e.t <= term.t))
    /** @type {Record<string, number>} */
    const byOutcome = {}
    for (const f of mine) byOutcome[f.outcome] = (byOutcome[f.outcome] ?? 0) + 1
    const rel = (/** @type {number | undefined} */ t) => (t === undefined || mine.length === 0 ? null : { first: Math.round(/** @type {number} */ (mine[0]?.endMs) - t), last: Math.round(/** @type {number} */ (mine.at(-1)?.endMs) - t) })
    return {
      slot: term.slot,
      failed: mine.length,
      byOutcome,
      sigtermToDownMs: down ? Math.round(down.t - term.t) : null,
      sigtermToExitMs: exit ? Math.round(exit.t - term.t) : null,
      replacementUpMs: upEvent ? Math.round(upEvent.t - term.t) : null,
      failuresRelativeToSigtermMs: rel(term.t),
      failuresRelativeToDownMs: rel(down?.t),
      failuresRelativeToExitMs: rel(exit?.t),
    }
  })
  const beforeFirstSigterm = failures.filter((f) => f.endMs < (sigterms[0]?.t ?? Infinity)).length
  const durationMs = Math.round(Math.max(0, ...run.events.map((e) => e.t)))
  return {
    variant: run.variant,
    timing: run.timing,
    order: run.order,
    durationMs,
    requests: run.records.length,
    ok: ok.length,
    failed: failures.length,
    outcomes,
    p99Ms: pct(latencies, 0.99),
    p99FastMs: pct(fastLat, 0.99),
    exits,
    failureWindows: windows,
    failedBeforeFirstSigterm: beforeFirstSigterm,
    /** The first 100 failures, each placed in time. */
    firstFailures: failures.slice(0, 100),
    haproxyErrorLog: run.haproxyErrors.slice(0, 50),
    events: run.events,
    reports: run.reports,
    records: run.records,
  }
}

function versions() {
  const v = (/** @type {string} */ name) => {
    try {
      return JSON.parse(readFileSync(join(here, '..', 'node_modules', name, 'package.json'), 'utf8')).version
    } catch {
      return null
    }
  }
  let commit = null
  try {
    commit = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout
  }
  return {
    node: process.version, os: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryGb: Math.round(totalmem() / 2 ** 30),
    haproxy: ensureHaproxy(), '@godaddy/terminus': v('@godaddy/terminus'), 'http-terminator': v('http-terminator'), stoppable: v('stoppable'), lastcall: commit,
  }
}

const machine = versions()
console.error(`[bench] ${machine.haproxy}; node ${machine.node}; ${machine.cpus} cpus; variants: ${variantNames.join(', ')}`)
const started = Date.now()
/** @type {Awaited<ReturnType<typeof scenario>>[]} */
const results = []
try {
  for (const v of variantNames) {
    for (const timing of timings) {
      for (const order of orders) {
        const r = await scenario(v, timing, order)
        results.push(r)
        console.error(`[bench] ${v.padEnd(20)} ${timing.padEnd(8)} ${order.padEnd(10)} ${String(r.requests).padStart(6)} requests, ${String(r.failed).padStart(5)} failed  ${JSON.stringify(Object.fromEntries(Object.entries(r.outcomes).filter(([k]) => k !== 'ok')))}  exits ${r.exits.map((e) => `${e.sigtermToExitMs}ms${e.killed ? ' (killed)' : ''}`).join(' ')}`)
      }
    }
  }
} finally {
  killAll()
}

mkdirSync(opts.out, { recursive: true })
const summary = {
  benchmark: 'rolling-restart',
  date: new Date().toISOString(),
  machine,
  settings: { connections, pauseMs: Number(opts.pause), mix: '80% GET /fast, 15% POST /orders, 5% GET /slow (0.5-2 s)', timings: Object.fromEntries(timings.map((t) => [t, TIMINGS[t]])), orders: Object.fromEntries(orders.map((o) => [o, ORDERS[o]])), haproxy: 'http-reuse safe, retries 0, no retry-on, option httpchk GET /readyz, rise 1', exitTimeoutMs: EXIT_TIMEOUT_MS },
  variants: Object.fromEntries(variantNames.map((v) => [v, /** @type {(typeof VARIANTS)[string]} */ (VARIANTS[v]).about])),
  wallClockS: Math.round((Date.now() - started) / 1000),
  results: results.map(({ records: _records, ...r }) => r),
}
writeFileSync(join(opts.out, 'rolling-restart.json'), JSON.stringify(summary, null, 2) + '\n')
for (const v of variantNames) {
  writeFileSync(join(opts.out, `rolling-restart-${v}.svg`), renderChart(v, /** @type {string} */ (VARIANTS[v]?.about), results.filter((r) => r.variant === v)))
}
console.log(table(results))
console.error(`[bench] done in ${summary.wallClockS} s; wrote ${join(opts.out, 'rolling-restart.json')} and ${variantNames.length} SVG charts`)

/** @param {Awaited<ReturnType<typeof scenario>>[]} rs */
function table(rs) {
  const cols = timings.flatMap((t) => orders.map((o) => `${t} / ${o}`))
  const lines = [`| variant | ${cols.join(' | ')} | p99 fast (ms) | SIGTERM→exit (ms, max) |`, `|---|${cols.map(() => '---:').join('|')}|---:|---:|`]
  for (const v of variantNames) {
    const mine = rs.filter((r) => r.variant === v)
    const cells = timings.flatMap((t) => orders.map((o) => {
      const r = mine.find((x) => x.timing === t && x.order === o)
      return r ? `${r.failed} / ${r.requests}` : '-'
    }))
    const p99 = Math.max(...mine.map((r) => r.p99FastMs))
    const exit = Math.max(...mine.flatMap((r) => r.exits.map((e) => e.sigtermToExitMs ?? 0)))
    const killed = mine.some((r) => r.exits.some((e) => e.killed))
    lines.push(`| ${v} | ${cells.join(' | ')} | ${p99} | ${exit}${killed ? ' (killed)' : ''} |`)
  }
  return lines.join('\n')
}
