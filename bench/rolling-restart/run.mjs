#!/usr/bin/env node
// Rolling restart behind HAProxy: three instances of a server variant, bounded
// keep-alive load through HAProxy, each instance in turn gets SIGTERM and is
// replaced, in both orders, with HAProxy's default check timing and with fast
// checks. Every request is classified; results go to docs/bench/.
//
//   node bench/rolling-restart/run.mjs [--variants a,b] [--load busy|sparse] [--repeat N] [--quick] [--full] [--merge]
//
// Needs HAProxy (installed with apt-get when missing, as root on Debian) and
// built packages (`pnpm -r --filter './packages/*' build`, once, before the run).
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, totalmem, tmpdir, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderChart, renderDelayChart } from './chart.mjs'
import { startLoad } from './client.mjs'
import { ensureHaproxy, startHaproxy } from './haproxy.mjs'
import { snapshot } from './snapshot.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')

/**
 * The server variants. A variant is one small file in variants/ that serves
 * app.mjs's routes and prints `LISTENING <port>`; arguments pick its options.
 * `deno`: the variant serves with Deno.serve, so it runs with `--runtime deno` only.
 * @type {Record<string, { file: string, args?: string[], deno?: boolean, about: string }>}
 */
const VARIANTS = {
  lastcall: { file: 'lastcall.mjs', about: 'lastcall core, library defaults' },
  'lastcall-express': { file: 'lastcall-express.mjs', about: '@lastcall/express defaults (Express 5)' },
  'lastcall-koa': { file: 'lastcall-koa.mjs', about: '@lastcall/koa defaults (Koa 3)' },
  'lastcall-fastify': { file: 'lastcall-fastify.mjs', about: '@lastcall/fastify defaults (Fastify 5)' },
  'lastcall-hono': { file: 'lastcall-hono.mjs', about: '@lastcall/hono defaults (Hono 4 on @hono/node-server)' },
  'lastcall-nestjs': { file: 'lastcall-nestjs.mjs', about: '@lastcall/nestjs defaults (NestJS 12, Express platform)' },
  'lastcall-delay-0': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '0'], about: 'lastcall core, readinessDelayMs 0' },
  'lastcall-delay-2000': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '2000'], about: 'lastcall core, readinessDelayMs 2000' },
  'lastcall-delay-5000': { file: 'lastcall.mjs', args: ['--readiness-delay-ms', '5000'], about: 'lastcall core, readinessDelayMs 5000' },
  'naive-exit': { file: 'naive-exit.mjs', about: 'process.exit() on SIGTERM' },
  'server-close': { file: 'server-close.mjs', about: 'server.close(), exit when it calls back' },
  terminus: { file: 'terminus.mjs', about: '@godaddy/terminus defaults, /readyz health check' },
  'http-terminator': { file: 'http-terminator.mjs', about: 'http-terminator defaults' },
  stoppable: { file: 'stoppable.mjs', about: 'stoppable defaults' },
  'fastify-close-with-grace': { file: 'fastify-close-with-grace.mjs', about: "Fastify's close() with close-with-grace (delay 10000)" },
  'fastify-builtin': { file: 'fastify-builtin.mjs', about: "Fastify's close() alone, exit when it resolves" },
  'hono-server-close': { file: 'hono-server-close.mjs', about: "@hono/node-server's README: server.close() on SIGTERM, exit when it calls back" },
  'nestjs-shutdown-hooks': { file: 'nestjs-shutdown-hooks.mjs', about: "NestJS 12's app.enableShutdownHooks() alone (Express platform)" },
  'nestjs-return-503': { file: 'nestjs-shutdown-hooks.mjs', args: ['--return-503'], about: "NestJS 12's app.enableShutdownHooks() with return503OnClosing (Express platform)" },
  'lastcall-deno-serve': { file: 'lastcall-deno-serve.mjs', deno: true, about: '@lastcall/deno defaults on Deno.serve (--runtime deno only)' },
  'deno-serve-shutdown': { file: 'deno-serve-shutdown.mjs', deno: true, about: "Deno.serve's own server.shutdown() on SIGTERM, exit when it resolves (--runtime deno only)" },
}
/** lastcall with its defaults, core and each adapter: the ones with the zero-failure target. */
const LASTCALL = ['lastcall', 'lastcall-express', 'lastcall-koa', 'lastcall-fastify', 'lastcall-hono', 'lastcall-nestjs']
/** The fixed delays compared with 'auto' (issue 10). */
const DELAYS = ['lastcall-delay-0', 'lastcall-delay-2000', 'lastcall-delay-5000']

const LOADS = {
  busy: { connections: 64, warmupMs: 700, about: 'keep-alive clients in a closed loop, pausing --pause ms between requests' },
  // Long enough for every instance to see a few requests: a service that has
  // been up a while knows its traffic's rhythm.
  sparse: { connections: 8, warmupMs: 10_000, about: 'each client sends one request every 2-3 s (about 1 request/s per instance)' },
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
/** An instance that has not printed LISTENING this long after it started is killed (and the run stops). */
const START_TIMEOUT_MS = 30_000
const SETTLE_MS = 300
const COOLDOWN_MS = 700

const { values: opts } = parseArgs({
  options: {
    variants: { type: 'string' },
    quick: { type: 'boolean', default: false },
    connections: { type: 'string' },
    pause: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'docs', 'bench') },
    seed: { type: 'string', default: '1' },
    load: { type: 'string', default: 'busy' },
    repeat: { type: 'string' },
    timings: { type: 'string' },
    orders: { type: 'string' },
    full: { type: 'boolean', default: false },
    merge: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'node' },
  },
})

/**
 * What runs the instances: `node` (the Node running this script), `node22`,
 * `node24`, `node26`, `bun` or `deno`, the pinned binaries of scripts/runtime.sh
 * (docs/runtimes.md). HAProxy and the clients do not change.
 */
const runtimeCommand = (() => {
  if (opts.runtime === 'node') return [process.execPath]
  const m = /^(node)(\d+)$|^(bun|deno)$/.exec(opts.runtime)
  if (!m) throw new Error(`--runtime must be node, node22, node24, node26, bun or deno; received "${opts.runtime}"`)
  const bin = execFileSync(join(root, 'scripts', 'runtime.sh'), m[1] ? ['node', m[2]] : [m[3]], { encoding: 'utf8' }).trim()
  return m[3] === 'deno' ? [bin, 'run', '-A'] : [bin]
})()

/** @param {string} name @param {string | undefined} raw @param {number} fallback */
function positiveInt(name, raw, fallback) {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer; received "${raw}"`)
  return n
}
/** @template {string} T @param {string} name @param {string | undefined} raw @param {readonly T[]} allowed @param {T[]} fallback @returns {T[]} */
function list(name, raw, allowed, fallback) {
  if (raw === undefined) return fallback
  const items = raw.split(',')
  for (const i of items) if (!allowed.includes(/** @type {T} */ (i))) throw new Error(`--${name}: unknown "${i}"; allowed: ${allowed.join(', ')}`)
  return /** @type {T[]} */ (items)
}

/** @typedef {{ variant: string, load: keyof typeof LOADS, repeat: number, timings: (keyof typeof TIMINGS)[], orders: (keyof typeof ORDERS)[] }} Group */
/** @type {Group[]} */
const plan = []
/** The variants this runtime can run: Deno.serve's only on Deno. @param {string} v */
const runnable = (v) => VARIANTS[v]?.deno !== true || opts.runtime === 'deno'
const allTimings = /** @type {(keyof typeof TIMINGS)[]} */ (Object.keys(TIMINGS))
const allOrders = /** @type {(keyof typeof ORDERS)[]} */ (Object.keys(ORDERS))
if (opts.full) {
  // The documented full run: lastcall with its defaults (core and every adapter)
  // --repeat times (3 unless given), everything else once, then sparse traffic.
  const repeat = positiveInt('repeat', opts.repeat, 3)
  for (const variant of LASTCALL) plan.push({ variant, load: 'busy', repeat, timings: allTimings, orders: allOrders })
  for (const variant of Object.keys(VARIANTS).filter(runnable)) if (!LASTCALL.includes(variant)) plan.push({ variant, load: 'busy', repeat: 1, timings: allTimings, orders: allOrders })
  for (const variant of ['lastcall', ...DELAYS]) plan.push({ variant, load: 'sparse', repeat: 1, timings: ['default'], orders: allOrders })
} else {
  const load = /** @type {keyof typeof LOADS} */ (list('load', opts.load, /** @type {(keyof typeof LOADS)[]} */ (Object.keys(LOADS)), ['busy'])[0])
  const names = opts.variants ? opts.variants.split(',') : load === 'sparse' ? ['lastcall', ...DELAYS] : Object.keys(VARIANTS).filter(runnable)
  // --quick: fast checks (default checks under sparse load) and one order only.
  const timings = list('timings', opts.timings, allTimings, opts.quick || load === 'sparse' ? [load === 'sparse' ? 'default' : 'fast'] : allTimings)
  const orders = list('orders', opts.orders, allOrders, opts.quick ? ['same-port'] : allOrders)
  const repeat = positiveInt('repeat', opts.repeat, 1)
  for (const variant of names) plan.push({ variant, load, repeat, timings, orders })
}
for (const g of plan) if (!VARIANTS[g.variant]) throw new Error(`unknown variant "${g.variant}"; known: ${Object.keys(VARIANTS).join(', ')}`)
for (const g of plan) if (!runnable(g.variant)) throw new Error(`variant "${g.variant}" serves with Deno.serve: run it with --runtime deno`)
const connectionsArg = opts.connections === undefined ? undefined : positiveInt('connections', opts.connections, 1)

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

/**
 * Ports below the kernel's ephemeral range, which outgoing connections never
 * take as their local port. A port picked in that range (listen(0)) and used
 * later, as a spare slot is, can meanwhile be taken by any outgoing
 * connection on the machine (HAProxy's to the backends, the clients', other
 * processes'): EADDRINUSE when the instance starts.
 */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
})()
const PORT_FLOOR = Math.max(1024, Math.min(10_000, EPHEMERAL_LOW - 2000))
/** Ports handed out in this run, never handed out twice. */
const usedPorts = new Set()

/** A free loopback port outside the ephemeral range (bound and released; bounded tries). */
async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (EPHEMERAL_LOW - PORT_FLOOR))
    if (usedPorts.has(port)) continue
    const server = createServer()
    const bound = await new Promise((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (!bound) continue
    server.close()
    await once(server, 'close')
    usedPorts.add(port)
    return port
  }
  throw new Error(`no free loopback port in ${PORT_FLOOR}-${EPHEMERAL_LOW - 1}`)
}

/**
 * Starts one instance of a variant; resolves once it listens.
 * @param {{ file: string, args?: string[] }} variant
 * @param {number} port
 */
async function startInstance(variant, port) {
  const [command, ...runtimeArgs] = runtimeCommand
  const child = spawn(command, [...runtimeArgs, join(frozen.variantsDir, variant.file), '--port', String(port), ...(variant.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] })
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
  const failed = exited.then(({ code, signal }) => { throw new Error(`instance exited before listening (code ${code}, signal ${signal}): ${log.join('\n')}`) })
  failed.catch(() => {})
  // Generous: a Nest instance starts in ~1.7 s here, but took more than 10 s
  // (killed, the run aborted) while the shared machine's load average was ~80.
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS)
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
 * @param {keyof typeof LOADS} loadName
 */
async function scenario(variantName, timing, order, loadName) {
  const connections = connectionsArg ?? LOADS[loadName].connections
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
    load = startLoad({ port: frontendPort, connections, pauseMs: Number(opts.pause), now, seed: Number(opts.seed), mode: loadName })
    await new Promise((r) => setTimeout(r, LOADS[loadName].warmupMs))

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
    return analyse({ variant: variantName, load: loadName, connections, timing, order, records: load.records, events, haproxyErrors: haproxy.errors, reports })
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
 * @param {{ variant: string, load: string, connections: number, timing: string, order: string, records: import('./client.mjs').RequestRecord[], events: { t: number, type: string, slot: string, detail?: unknown }[], haproxyErrors: { t: number, line: string }[], reports: unknown[] }} run
 */
function analyse(run) {
  /** @type {Record<string, number>} */
  const outcomes = {}
  for (const r of run.records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
  const ok = run.records.filter((r) => r.outcome === 'ok')
  const latencies = ok.map((r) => r.end - r.start).sort((a, b) => a - b)
  const fastLat = ok.filter((r) => r.kind === 'fast' || r.kind === 'post').map((r) => r.end - r.start).sort((a, b) => a - b)
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
    load: run.load,
    connections: run.connections,
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
    haproxy: ensureHaproxy(), '@godaddy/terminus': v('@godaddy/terminus'), 'http-terminator': v('http-terminator'), stoppable: v('stoppable'),
    express: v('express'), koa: v('koa'), fastify: v('fastify'), hono: v('hono'), '@hono/node-server': v('@hono/node-server'), '@nestjs/core': v('@nestjs/core'), 'close-with-grace': v('close-with-grace'), lastcall: commit,
  }
}

if (opts.report) {
  // --report: the table and the delay chart again from the JSON in --out, nothing run.
  const all = JSON.parse(readFileSync(join(opts.out, 'rolling-restart.json'), 'utf8')).results
  writeReport(all)
  process.exit(0)
}

const machine = versions()
// Every instance of this run starts from one frozen copy of the built
// packages (snapshot.mjs): a rebuild elsewhere during the run changes nothing.
const frozenDir = mkdtempSync(join(tmpdir(), 'lastcall-bench-code-'))
process.on('exit', () => rmSync(frozenDir, { recursive: true, force: true }))
const frozen = await snapshot({ root, packages: ['core', 'express', 'koa', 'fastify', 'hono', 'nestjs', 'deno'], dir: frozenDir })

const total = plan.reduce((n, g) => n + g.repeat * g.timings.length * g.orders.length, 0)
console.error(`[bench] ${machine.haproxy}; node ${machine.node}; ${machine.cpus} cpus; ${total} scenarios: ${plan.map((g) => `${g.variant}${g.load === 'sparse' ? ' (sparse)' : ''}${g.repeat > 1 ? ` x${g.repeat}` : ''}`).join(', ')}`)
const started = Date.now()
const jsonPath = join(opts.out, 'rolling-restart.json')
mkdirSync(opts.out, { recursive: true })

/** @typedef {Omit<Awaited<ReturnType<typeof scenario>>, 'records'> & { run: number }} Result */
/** Results of an earlier run kept by --merge: every variant and load this run does not redo. */
/** @type {Result[]} */
let kept = []
/** @type {unknown[]} */
let earlierInvocations = []
if (opts.merge && existsSync(jsonPath)) {
  const previous = JSON.parse(readFileSync(jsonPath, 'utf8'))
  kept = /** @type {Result[]} */ (previous.results).filter((r) => !plan.some((g) => g.variant === r.variant && g.load === (r.load ?? 'busy')))
  earlierInvocations = previous.invocations ?? []
}
/** @type {Result[]} */
const results = []
const invocation = () => ({ date: new Date().toISOString(), lastcall: machine.lastcall, argv: process.argv.slice(2), scenarios: results.length, wallClockS: Math.round((Date.now() - started) / 1000), packagesBuiltAt: frozen.builtAt })
function writeSummary() {
  const all = [...kept, ...results]
  const summary = {
    benchmark: 'rolling-restart',
    date: new Date().toISOString(),
    machine,
    settings: {
      loads: Object.fromEntries(Object.entries(LOADS).map(([k, l]) => [k, { ...l, connections: connectionsArg ?? l.connections }])), pauseMs: Number(opts.pause),
      mix: '80% GET /fast, 15% POST /orders, 5% GET /slow (0.5-2 s)', timings: TIMINGS, orders: ORDERS,
      haproxy: 'http-reuse safe, retries 0, no retry-on, option httpchk GET /readyz, rise 1', exitTimeoutMs: EXIT_TIMEOUT_MS,
    },
    variants: Object.fromEntries([...new Set(all.map((r) => r.variant))].map((v) => [v, VARIANTS[v]?.about ?? null])),
    invocations: [...earlierInvocations, invocation()],
    results: all,
  }
  writeFileSync(jsonPath, JSON.stringify(summary, null, 2) + '\n')
  return all
}

let done = 0
try {
  for (const g of plan) {
    const variant = /** @type {(typeof VARIANTS)[string]} */ (VARIANTS[g.variant])
    /** @type {Awaited<ReturnType<typeof scenario>>[]} */
    const charted = []
    for (let run = 1; run <= g.repeat; run++) {
      for (const timing of g.timings) {
        for (const order of g.orders) {
          const r = await scenario(g.variant, timing, order, g.load)
          done++
          const { records: _records, ...rest } = r
          results.push({ ...rest, run })
          if (run === 1) charted.push(r)
          const exits = r.exits.map((e) => `${e.sigtermToExitMs}ms${e.killed ? ' (killed)' : ''}`).join(' ')
          const bad = JSON.stringify(Object.fromEntries(Object.entries(r.outcomes).filter(([k]) => k !== 'ok')))
          console.error(`[bench] ${String(done).padStart(3)}/${total} ${g.variant.padEnd(24)} ${g.load.padEnd(6)} #${run} ${timing.padEnd(7)} ${order.padEnd(9)} ${String(r.requests).padStart(6)} requests, ${String(r.failed).padStart(5)} failed  ${bad}  exits ${exits}`)
        }
      }
    }
    const file = `rolling-restart-${g.load === 'sparse' ? 'sparse-' : ''}${g.variant}.svg`
    writeFileSync(join(opts.out, file), renderChart(`${g.variant}${g.load === 'sparse' ? ', sparse traffic' : ''}`, `${variant.about}; ${LOADS[g.load].about}`, charted))
    writeSummary()
  }
} finally {
  killAll()
}

writeReport(writeSummary())
console.error(`[bench] done in ${Math.round((Date.now() - started) / 1000)} s; wrote ${jsonPath}, rolling-restart-table.md and the SVG charts to ${opts.out}`)

/** Writes rolling-restart-table.md and rolling-restart-delays.svg, prints the table. @param {Result[]} all */
function writeReport(all) {
  const markdown = tables(all)
  writeFileSync(join(opts.out, 'rolling-restart-table.md'), markdown + '\n')
  const delayChart = renderDelayChart(all, { auto: 'lastcall', fixed: DELAYS.map((v) => ({ variant: v, ms: Number(v.split('-').at(-1)) })) })
  if (delayChart) writeFileSync(join(opts.out, 'rolling-restart-delays.svg'), delayChart)
  console.log(markdown)
}

/** @param {number[]} xs */
function median(xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? /** @type {number} */ (s[m]) : Math.round((/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2)
}
/** @param {Result[]} rs */
function exitTimes(rs) {
  return rs.flatMap((r) => r.exits.map((e) => e.sigtermToExitMs ?? 0))
}
/** @param {number} n */
function fmt(n) {
  return n.toLocaleString('en-US')
}

/**
 * The Markdown tables: busy traffic (failed / requests summed over the runs,
 * per check timing and order, SIGTERM → exit medians) and sparse traffic.
 * @param {Result[]} rs
 */
function tables(rs) {
  const out = []
  const cols = allTimings.flatMap((t) => allOrders.map((o) => /** @type {const} */ ([t, o])))
  const cell = (/** @type {Result[]} */ mine) => (mine.length === 0 ? '-' : `${fmt(mine.reduce((n, r) => n + r.failed, 0))} / ${fmt(mine.reduce((n, r) => n + r.requests, 0))}`)
  const ms = (/** @type {number | null} */ n) => (n === null ? '-' : fmt(n))
  for (const load of /** @type {(keyof typeof LOADS)[]} */ (Object.keys(LOADS))) {
    const here = rs.filter((r) => (r.load ?? 'busy') === load)
    if (here.length === 0) continue
    const present = cols.filter(([t, o]) => here.some((r) => r.timing === t && r.order === o))
    const timingsHere = allTimings.filter((t) => here.some((r) => r.timing === t))
    out.push(`${load} traffic: failed requests / requests (summed over runs), SIGTERM → exit median per check timing and max, p99 of fast requests`, '')
    out.push(`| variant | runs | ${present.map(([t, o]) => `${t} / ${o}`).join(' | ')} | ${timingsHere.map((t) => `exit median, ${t} (ms)`).join(' | ')} | exit max (ms) | delay rule | p99 fast (ms) |`)
    out.push(`|---|---:|${present.map(() => '---:').join('|')}|${timingsHere.map(() => '---:').join('|')}|---:|---|---:|`)
    const variants = Object.keys(VARIANTS).filter((v) => here.some((r) => r.variant === v))
    for (const v of variants) {
      const mine = here.filter((r) => r.variant === v)
      const runs = Math.max(...mine.map((r) => r.run ?? 1))
      const exitMax = Math.max(...exitTimes(mine))
      const killed = mine.some((r) => r.exits.some((e) => e.killed))
      /** @type {Record<string, number>} */
      const rules = {}
      for (const r of mine) for (const rep of /** @type {{ readinessDelay?: { rule: string } } [] } */ (r.reports)) if (rep?.readinessDelay) rules[rep.readinessDelay.rule] = (rules[rep.readinessDelay.rule] ?? 0) + 1
      const rule = Object.entries(rules).map(([k, n]) => `${k} ${n}`).join(', ') || '-'
      out.push(`| ${v} | ${runs} | ${present.map(([t, o]) => cell(mine.filter((r) => r.timing === t && r.order === o))).join(' | ')} | ${timingsHere.map((t) => ms(median(exitTimes(mine.filter((r) => r.timing === t))))).join(' | ')} | ${fmt(exitMax)}${killed ? ' (killed)' : ''} | ${rule} | ${Math.max(...mine.map((r) => r.p99FastMs))} |`)
    }
    out.push('')
  }
  return out.join('\n').trim()
}
