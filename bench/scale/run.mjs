// Shutdown latency and scale: SIGTERM → exit of a lastcall node:http server
// with 0, 1,000 and 10,000 idle keep-alive connections and with in-flight
// requests of known length; heap per tracked connection.
//
//   pnpm build && node bench/scale/run.mjs [--repeat 5] [--heap-repeat 3] [--slow 10] [--slow-ms 500]
//     [--scenarios idle-0,idle-1000,idle-10000,inflight,inflight+idle-1000] [--skip-heap] [--out docs/bench]
//
// Processes: this one only starts the others and times the server's exit
// (it holds no sockets, so nothing delays its 'exit' event); the server
// (server.mjs or heap.mjs) pinned to cpu 0; the clients (clients.mjs) pinned
// to cpu 1. Server and clients are spawned through `sh -c 'ulimit -n ...;
// exec node ...'` to raise their open-files limit, and report the limit they
// got. All times are CLOCK_MONOTONIC (process.hrtime.bigint()), shared by
// every process on the machine. Writes <out>/scale.json and scale.svg.
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import { machine } from '../overhead/machine.mjs'
import { median, round } from '../overhead/stats.mjs'
import { spawnNode } from './limits.mjs'
import { scaleChart } from './chart.mjs'

const { values: args } = parseArgs({
  options: {
    repeat: { type: 'string', default: '5' },
    'heap-repeat': { type: 'string', default: '3' },
    slow: { type: 'string', default: '10' },
    'slow-ms': { type: 'string', default: '500' },
    scenarios: { type: 'string' },
    'skip-heap': { type: 'boolean', default: false },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
    out: { type: 'string', default: fileURLToPath(new URL('../../docs/bench', import.meta.url)) },
  },
})
const repeat = int('repeat', args.repeat)
const heapRepeat = int('heap-repeat', args['heap-repeat'])
const slowCount = int('slow', args.slow)
const slowMs = int('slow-ms', args['slow-ms'])
function int(name, value) {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${value}`)
  return n
}
function fail(message) {
  console.error(`scale: ${message}`)
  process.exit(2)
}

const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0
if (!pin) console.warn('scale: taskset (util-linux) not found: processes are not pinned (apt-get install util-linux)')
const serverCpu = pin ? args['server-cpu'] : undefined
const clientCpu = pin ? args['client-cpu'] : undefined

const SCENARIOS = {
  'idle-0': { idle: 0, slow: 0 },
  'idle-1000': { idle: 1000, slow: 0 },
  'idle-10000': { idle: 10_000, slow: 0 },
  inflight: { idle: 0, slow: slowCount },
  'inflight+idle-1000': { idle: 1000, slow: slowCount },
}
const scenarioNames = args.scenarios?.split(',').map((s) => s.trim()) ?? Object.keys(SCENARIOS)
for (const name of scenarioNames) if (SCENARIOS[name] === undefined) fail(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`)

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const children = new Set()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** JSON lines of a child's stdout, as an async queue with a per-read timeout. */
function jsonLines(child, what) {
  const queue = []
  const waiting = []
  let ended = false
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return
    const value = JSON.parse(l)
    const w = waiting.shift()
    if (w) w.resolve(value)
    else queue.push(value)
  }).on('close', () => {
    ended = true
    for (const w of waiting.splice(0)) w.reject(new Error(`${what} ended its output`))
  })
  return {
    /** The next line matching `test`, skipping others, within `ms`. */
    async next(test, ms) {
      const until = Date.now() + ms
      for (;;) {
        const value = queue.length > 0 ? queue.shift() : await new Promise((resolve, reject) => {
          if (ended) return reject(new Error(`${what} ended its output`))
          const w = { resolve, reject }
          waiting.push(w)
          setTimeout(() => {
            const i = waiting.indexOf(w)
            if (i !== -1) waiting.splice(i, 1)
            reject(new Error(`${what}: no expected output within ${ms} ms`))
          }, Math.max(1, until - Date.now())).unref()
        })
        if (test(value)) return value
      }
    },
  }
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

function needFiles(what, nofile, n) {
  if (nofile !== undefined && nofile < n + 64) {
    fail(`${what} may open only ${nofile} files, fewer than the ${n} connections plus 64: raise the hard limit (ulimit -Hn) or use fewer connections`)
  }
}

const ms = (a, b) => round(Number(BigInt(a) - BigInt(b)) / 1e6, 2)

/** One SIGTERM → exit measurement. */
async function shutdownTrial(name, variant) {
  const sc = SCENARIOS[name]
  const server = track(spawnNode(serverCpu, here('server.mjs'), [variant]))
  const serverOut = jsonLines(server, 'server')
  let clients
  try {
    const { port, nofile } = await serverOut.next((v) => v.port !== undefined, 15_000)
    needFiles('the server', nofile, sc.idle + sc.slow)
    clients = track(spawnNode(clientCpu, here('clients.mjs'), [port, sc.idle, sc.slow, slowMs, 120].map(String)))
    const clientOut = jsonLines(clients, 'clients')
    const ready = await clientOut.next((v) => v.idleReady !== undefined, 120_000)
    needFiles('the clients', ready.nofile, sc.idle + sc.slow)
    if (ready.errors > 0) throw new Error(`clients: ${ready.errors} errors while opening ${sc.idle} connections`)
    // SIGTERM once every slow request has reached the server.
    if (sc.slow > 0) await serverOut.next((v) => v.slow === sc.slow, 15_000)
    const exited = once(server, 'exit')
    const tKill = process.hrtime.bigint()
    process.kill(server.pid, 'SIGTERM')
    const [code] = await exited
    const tExit = process.hrtime.bigint()
    const closed = await serverOut.next((v) => v.event === 'closed', 1000)
    const exitEvent = await serverOut.next((v) => v.event === 'exit', 1000)
    const done = sc.idle + sc.slow > 0 ? await clientOut.next((v) => v.done !== undefined, 10_000) : { slow: [], errors: 0 }
    const t = closed.t
    const later = [t.lastResponse, t.lastIdleClose].map(BigInt).reduce((a, b) => (b > a ? b : a), 0n) || BigInt(t.draining)
    return {
      exitCode: code,
      sigtermToExitMs: ms(tExit, tKill),
      signalDeliveryMs: ms(t.signal, tKill),
      signalToDrainMs: ms(t.draining, t.signal),
      lastResponseAfterSigtermMs: sc.slow > 0 ? ms(t.lastResponse, tKill) : undefined,
      idleClosedAfterSigtermMs: sc.idle > 0 ? ms(t.lastIdleClose, tKill) : undefined,
      // The idle linger (idleLingerMs, by design) and the time spent closing the sockets after it.
      idleLingerMs: closed.idleLingerMs,
      idleCloseAfterLingerMs: sc.idle > 0 ? round(ms(t.lastIdleClose, t.draining) - closed.idleLingerMs, 2) : undefined,
      // The headline: process gone (seen from here) after the later of last response and idle sockets closed.
      exitAfterLaterOfMs: ms(tExit, later),
      // Split: to the server's own process 'exit' event, then Node's teardown until the parent sees the exit.
      exitEventAfterLaterOfMs: ms(exitEvent.t, later),
      teardownMs: ms(tExit, exitEvent.t),
      idleClosed: closed.idleClosed,
      busyClosed: closed.busyClosed,
      slowResponses: done.slow.length,
      slowStatuses: [...new Set(done.slow.map((r) => r.status))],
      clientErrors: done.errors,
      report: closed.report,
    }
  } finally {
    if (clients) await stop(clients)
    await stop(server)
  }
}

/** Heap per connection for one variant: heap at 1,000 and at 10,000 idle connections. */
async function heapTrial(variant) {
  const server = track(spawnNode(serverCpu, here('heap.mjs'), [variant], { nodeArgs: ['--expose-gc'], stdin: 'pipe' }))
  const out = jsonLines(server, `heap ${variant}`)
  const opened = []
  try {
    const base = await out.next((v) => v.port !== undefined, 15_000)
    needFiles('the heap server', base.nofile, 10_000)
    const measure = async () => {
      server.stdin.write('measure\n')
      return out.next((v) => v.heapUsed !== undefined && v.connections !== undefined, 30_000)
    }
    const open = async (n) => {
      const c = track(spawnNode(clientCpu, here('clients.mjs'), [base.port, n, 0, 0, 300].map(String)))
      opened.push(c)
      const ready = await jsonLines(c, 'clients').next((v) => v.idleReady !== undefined, 120_000)
      needFiles('the clients', ready.nofile, n)
      if (ready.errors > 0) throw new Error(`clients: ${ready.errors} errors while opening ${n} connections`)
    }
    await open(1000)
    const at1k = await measure()
    await open(9000)
    const at10k = await measure()
    if (at10k.connections !== 10_000) throw new Error(`heap ${variant}: server has ${at10k.connections} connections, expected 10000`)
    return {
      variant,
      heapUsed: { base: base.heapUsed, at1000: at1k.heapUsed, at10000: at10k.heapUsed },
      rss: { base: base.rss, at1000: at1k.rss, at10000: at10k.rss },
      // Slope between 1,000 and 10,000 connections: one-off allocations of the first requests cancel out.
      heapPerConnection: round((at10k.heapUsed - at1k.heapUsed) / 9000, 1),
      rssPerConnection: round((at10k.rss - at1k.rss) / 9000, 1),
    }
  } finally {
    for (const c of opened) await stop(c)
    await stop(server)
  }
}

/**
 * Runs one trial, again (at most twice more, 3 s apart) if it fails: in a
 * shared checkout the workspace build can be replaced while a run is going.
 */
async function attempt(what, fn) {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (error) {
      if (i === 3) throw error
      console.warn(`scale: ${what} failed (${error.message.split('\n')[0]}); trying again`)
      await new Promise((resolve) => setTimeout(resolve, 3000))
    }
  }
}

const info = machine()
const began = Date.now()
console.log(`scale: ${scenarioNames.join(', ')} × ${repeat}; heap ${args['skip-heap'] ? 'skipped' : `× ${heapRepeat} per variant`}; ${info.cpuModel}, ${info.cores} cores, Node ${info.node}, load average ${info.loadAverageAtStart.join(' ')}`)

const scenarios = []
const VARIANTS = ['lastcall', 'floor']
for (const name of scenarioNames) {
  const trials = { lastcall: [], floor: [] }
  for (let i = 0; i < repeat; i++) {
    // Alternate which variant goes first, so drifts in background load hit both alike.
    for (const variant of i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const r = await attempt(`${name} ${variant}`, () => shutdownTrial(name, variant))
      trials[variant].push(r)
      console.log(
        `${name.padEnd(20)} ${variant.padEnd(8)} #${i + 1}  SIGTERM→exit ${r.sigtermToExitMs} ms  exit after later-of ${r.exitAfterLaterOfMs} ms (exit event ${r.exitEventAfterLaterOfMs}, teardown ${r.teardownMs})` +
          (r.idleCloseAfterLingerMs !== undefined ? `  idle closed ${r.idleCloseAfterLingerMs} ms after the ${r.idleLingerMs} ms linger` : '') +
          (r.lastResponseAfterSigtermMs !== undefined ? `  last response at ${r.lastResponseAfterSigtermMs} ms` : '') +
          `  exit code ${r.exitCode}`,
      )
    }
  }
  const summary = (list) => {
    const med = (key) => {
      const values = list.map((t) => t[key]).filter((v) => v !== undefined)
      return values.length === 0 ? undefined : { median: round(median(values), 2), min: Math.min(...values), max: Math.max(...values) }
    }
    return {
      sigtermToExitMs: med('sigtermToExitMs'),
      exitAfterLaterOfMs: med('exitAfterLaterOfMs'),
      exitEventAfterLaterOfMs: med('exitEventAfterLaterOfMs'),
      teardownMs: med('teardownMs'),
      signalDeliveryMs: med('signalDeliveryMs'),
      idleCloseAfterLingerMs: med('idleCloseAfterLingerMs'),
      lastResponseAfterSigtermMs: med('lastResponseAfterSigtermMs'),
      idleLingerMs: list[0].idleLingerMs,
      exitCodes: [...new Set(list.map((t) => t.exitCode))],
      trials: list,
    }
  }
  scenarios.push({
    name,
    idleConnections: SCENARIOS[name].idle,
    inFlight: SCENARIOS[name].slow,
    inFlightMs: SCENARIOS[name].slow > 0 ? slowMs : undefined,
    lastcall: summary(trials.lastcall),
    floor: summary(trials.floor),
  })
}

let heap
if (!args['skip-heap']) {
  const runs = { bare: [], lastcall: [] }
  for (let i = 0; i < heapRepeat; i++) {
    for (const variant of i % 2 === 0 ? ['bare', 'lastcall'] : ['lastcall', 'bare']) {
      const r = await attempt(`heap ${variant}`, () => heapTrial(variant))
      runs[variant].push(r)
      console.log(`heap ${variant.padEnd(8)} #${i + 1}  ${r.heapPerConnection} B heap / connection (rss ${r.rssPerConnection} B)`)
    }
  }
  const bare = median(runs.bare.map((r) => r.heapPerConnection))
  const lastcall = median(runs.lastcall.map((r) => r.heapPerConnection))
  heap = {
    connections: 10_000,
    method: 'process.memoryUsage().heapUsed after 4 full GCs (--expose-gc); slope between 1,000 and 10,000 idle keep-alive connections (each served one request)',
    bareBytesPerConnection: round(bare, 1),
    lastcallBytesPerConnection: round(lastcall, 1),
    trackedBytesPerConnection: round(lastcall - bare, 1),
    target: '≤ 400 B per tracked connection beyond a bare server',
    runs,
  }
}

const output = {
  benchmark: 'scale',
  description: 'SIGTERM → exit of a lastcall node:http server (readinessDelayMs: 0, other options default) with idle keep-alive connections and in-flight requests of known length; heap per tracked connection.',
  targets: {
    exit: 'exit within 10 ms of the later of the last in-flight response and the closing of idle sockets (plus the readiness delay, 0 here)',
    heap: '≤ 400 B of heap per tracked connection beyond a bare server',
  },
  definitions: {
    sigtermToExitMs: 'from process.kill(pid, SIGTERM) in the parent to the child\'s exit event in the parent',
    exitAfterLaterOfMs: 'from the later of (last in-flight response finished, last idle socket closed), as seen by the server, to the exit seen by the parent',
    exitEventAfterLaterOfMs: 'the same, to the server\'s own process "exit" event (excludes Node\'s teardown)',
    teardownMs: 'from the server\'s process "exit" event to the exit seen by the parent',
    idleCloseAfterLingerMs: 'last idle socket closed, minus (drain start + idleLingerMs): the cost of closing them',
    floor: 'the reference measured beside lastcall: a bare node:http server whose SIGTERM handler calls server.close() (closing idle connections at once, no linger), sends Connection: close on in-flight responses and exits when the last connection is gone',
  },
  machine: { ...info, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
  versions: { node: process.version, '@lastcall/core': (await import('@lastcall/core/package.json', { with: { type: 'json' } })).default.version },
  config: { repeat, heapRepeat, slowCount, slowMs, readinessDelayMs: 0, idleLingerMs: scenarios[0]?.lastcall.idleLingerMs, serverCpu, clientCpu, wallClockS: Math.round((Date.now() - began) / 1000) },
  scenarios,
  heap,
}
mkdirSync(args.out, { recursive: true })
writeFileSync(`${args.out}/scale.json`, `${JSON.stringify(output, null, 2)}\n`)
writeFileSync(`${args.out}/scale.svg`, scaleChart(output))

console.log('\nmedians (ms)              variant   SIGTERM→exit  exit after later-of (exit event + teardown)  idle closing after linger')
for (const s of scenarios) {
  for (const variant of VARIANTS) {
    const v = s[variant]
    console.log(
      `${s.name.padEnd(25)} ${variant.padEnd(8)} ${String(v.sigtermToExitMs.median).padStart(12)}  ${String(v.exitAfterLaterOfMs.median).padStart(8)} (${v.exitEventAfterLaterOfMs.median} + ${v.teardownMs.median})` +
        `${' '.repeat(22)}${v.idleCloseAfterLingerMs ? v.idleCloseAfterLingerMs.median : '-'}`,
    )
  }
}
if (heap) console.log(`heap per connection: bare ${heap.bareBytesPerConnection} B, lastcall ${heap.lastcallBytesPerConnection} B, tracked ${heap.trackedBytesPerConnection} B beyond bare`)
console.log(`\nwrote ${args.out}/scale.json and scale.svg (${output.config.wallClockS} s)`)
