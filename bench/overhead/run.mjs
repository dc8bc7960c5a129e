// Overhead benchmark: throughput and latency of a minimal route with and
// without lastcall, per framework, in alternating A/B rounds, next to an A/A
// control (bare against bare) measured the same way.
//
//   pnpm build && node bench/overhead/run.mjs [--rounds 10] [--duration 3] [--warmup 1]
//     [--connections 32] [--frameworks node:http,express] [--server-cpu 0] [--load-cpu 1] [--out docs/bench]
//
// Every measurement starts a fresh server process pinned to one core and a
// fresh autocannon process (load.mjs) pinned to the other, with `taskset`.
// Each round measures A then B (even rounds) or B then A (odd rounds); the
// per-round ratio B/A is summarised as a median with a distribution-free 95%
// interval from order statistics. Writes <out>/overhead.json and overhead.svg.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { machine } from './machine.mjs'
import { FRAMEWORKS, adapterAvailable, workspaceVersion } from './servers.mjs'
import { median, medianInterval, round } from './stats.mjs'
import { barChart } from './svg.mjs'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    frameworks: { type: 'string' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    out: { type: 'string', default: fileURLToPath(new URL('../../docs/bench', import.meta.url)) },
  },
})
const rounds = positiveInt('rounds', args.rounds)
const duration = positiveNumber('duration', args.duration)
const warmup = Number(args.warmup)
const connections = positiveInt('connections', args.connections)
const serverCpu = args['server-cpu']
const loadCpu = args['load-cpu']

function positiveInt(name, value) {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${value}`)
  return n
}
function positiveNumber(name, value) {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got ${value}`)
  return n
}
function fail(message) {
  console.error(`overhead: ${message}`)
  process.exit(2)
}

if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
  fail('taskset (util-linux) is needed to pin the server and the load generator to separate cores: apt-get install util-linux')
}
if (os.cpus().length < 2) fail('needs at least 2 cores (one for the server, one for the load generator)')

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const children = new Set()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

/** Reads the first stdout line of a child as JSON, within `ms`. */
async function firstJsonLine(child, ms, what) {
  const lines = createInterface({ input: child.stdout })
  let timer
  try {
    return await Promise.race([
      (async () => {
        for await (const line of lines) if (line.startsWith('{')) return JSON.parse(line)
        throw new Error(`${what} exited without output (code ${child.exitCode})`)
      })(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no output within ${ms} ms`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
    lines.close()
  }
}

function start(cpu, script, argv) {
  const child = spawn('taskset', ['-c', cpu, process.execPath, here(script), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/**
 * CPU time a process has used so far, in ns, summed over its threads (the
 * main thread and V8's and libuv's helpers) from /proc/<pid>/task/<tid>/schedstat.
 */
function cpuTimeNs(pid) {
  let total = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread ended between listing and reading
    }
  }
  return total
}

/** Runs one load generator to its end against `port`. */
async function load(port, warmupS, durationS) {
  const child = start(loadCpu, 'load.mjs', [`http://127.0.0.1:${port}/`, String(connections), String(warmupS), String(durationS)])
  try {
    return await firstJsonLine(child, (warmupS + durationS) * 1000 + 20_000, 'load generator')
  } finally {
    await stop(child)
  }
}

/**
 * One measurement: a fresh server, an unrecorded warmup run, then the
 * measured run, with the server's CPU time read around it; every process
 * stopped by pid.
 */
async function measure(framework, variant) {
  const server = start(serverCpu, 'servers.mjs', [framework, variant])
  try {
    const { port } = await firstJsonLine(server, 15_000, `server ${framework} ${variant}`)
    if (warmup > 0) await load(port, 0, warmup)
    const cpuBefore = cpuTimeNs(server.pid)
    const result = await load(port, 0, duration)
    const cpuNs = cpuTimeNs(server.pid) - cpuBefore
    if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
      console.warn(`  ${framework} ${variant}: ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`)
    }
    return { ...result, cpuUsPerRequest: cpuNs / 1000 / result.requests }
  } finally {
    await stop(server)
  }
}

const requested = args.frameworks?.split(',').map((s) => s.trim()) ?? Object.keys(FRAMEWORKS)
const frameworks = []
for (const name of requested) {
  if (FRAMEWORKS[name] === undefined) fail(`unknown framework ${name}; known: ${Object.keys(FRAMEWORKS).join(', ')}`)
  if (await adapterAvailable(name)) frameworks.push(name)
  else console.warn(`overhead: skipping ${name}: its framework or adapter cannot be imported (run pnpm build)`)
}
if (frameworks.length === 0) fail('nothing to measure')

// Pairs: A is the baseline, B the candidate. The A/A control compares two
// separate bare node:http servers, measured exactly like every other pair.
const pairs = [
  { id: 'aa-control', label: 'A/A control (node:http bare vs bare)', framework: 'node:http', a: 'bare', b: 'bare', control: true },
  ...frameworks.map((f) => ({ id: f, label: `${f} + lastcall vs bare`, framework: f, a: 'bare', b: 'lastcall', control: false })),
]

const perMeasurement = warmup + duration + 0.6
const estimate = Math.round(pairs.length * rounds * 2 * perMeasurement)
const info = machine()
console.log(`overhead: ${pairs.length} pairs × ${rounds} rounds × 2 runs of ${warmup}+${duration} s, ${connections} connections; about ${Math.ceil(estimate / 60)} min`)
console.log(`overhead: server on cpu ${serverCpu}, autocannon on cpu ${loadCpu}; ${info.cpuModel}, ${info.cores} cores, Node ${info.node}, load average ${info.loadAverageAtStart.join(' ')}`)

const results = pairs.map((p) => ({ ...p, rounds: [] }))
const began = Date.now()
for (let r = 0; r < rounds; r++) {
  for (const pair of results) {
    if (pair.failed) continue
    const bFirst = r % 2 === 1
    let first, second
    try {
      first = await measure(pair.framework, bFirst ? pair.b : pair.a)
      second = await measure(pair.framework, bFirst ? pair.a : pair.b)
    } catch (error) {
      // One framework failing (an adapter rebuilt mid-run, say) does not end the others.
      pair.failed = `round ${r + 1}: ${error.message}`
      console.error(`overhead: dropping ${pair.id}: ${pair.failed}`)
      continue
    }
    const [a, b] = bFirst ? [second, first] : [first, second]
    const entry = {
      order: bFirst ? 'BA' : 'AB',
      a: { rps: round(a.rps, 1), cpuUsPerRequest: round(a.cpuUsPerRequest, 3), latencyMs: a.latencyMs, errors: a.errors + a.non2xx + a.timeouts },
      b: { rps: round(b.rps, 1), cpuUsPerRequest: round(b.cpuUsPerRequest, 3), latencyMs: b.latencyMs, errors: b.errors + b.non2xx + b.timeouts },
      throughputRatio: round(b.rps / a.rps, 4),
      // Requests per CPU-second, B relative to A: what throughput would be with the core to itself.
      cpuEfficiencyRatio: round(a.cpuUsPerRequest / b.cpuUsPerRequest, 4),
      meanLatencyRatio: round(b.latencyMs.mean / a.latencyMs.mean, 4),
    }
    pair.rounds.push(entry)
    console.log(`round ${r + 1}/${rounds} ${pair.id.padEnd(10)} ${entry.order}  A ${Math.round(a.rps)} req/s  B ${Math.round(b.rps)} req/s  B/A ${entry.throughputRatio.toFixed(3)}  CPU/request A ${a.cpuUsPerRequest.toFixed(1)} µs B ${b.cpuUsPerRequest.toFixed(1)} µs (A/B ${entry.cpuEfficiencyRatio.toFixed(3)})`)
  }
}

const summarise = (values) => {
  const ci = medianInterval(values)
  return { median: round(median(values), 4), low: round(ci.low, 4), high: round(ci.high, 4), coverage: round(ci.coverage, 4), min: round(Math.min(...values), 4), max: round(Math.max(...values), 4) }
}
for (const pair of results) {
  if (pair.rounds.length === 0) continue
  pair.throughputRatio = summarise(pair.rounds.map((x) => x.throughputRatio))
  pair.meanLatencyRatio = summarise(pair.rounds.map((x) => x.meanLatencyRatio))
  pair.cpuEfficiencyRatio = summarise(pair.rounds.map((x) => x.cpuEfficiencyRatio))
  pair.medianCpuUsPerRequest = { a: round(median(pair.rounds.map((x) => x.a.cpuUsPerRequest)), 3), b: round(median(pair.rounds.map((x) => x.b.cpuUsPerRequest)), 3) }
  pair.medianRps = { a: round(median(pair.rounds.map((x) => x.a.rps)), 0), b: round(median(pair.rounds.map((x) => x.b.rps)), 0) }
  pair.medianLatencyMs = {
    a: { mean: round(median(pair.rounds.map((x) => x.a.latencyMs.mean)), 3), p99: median(pair.rounds.map((x) => x.a.latencyMs.p99)) },
    b: { mean: round(median(pair.rounds.map((x) => x.b.latencyMs.mean)), 3), p99: median(pair.rounds.map((x) => x.b.latencyMs.p99)) },
  }
  pair.errors = pair.rounds.reduce((n, x) => n + x.a.errors + x.b.errors, 0)
}

const versions = { node: process.version }
for (const f of frameworks) for (const [dir, spec] of FRAMEWORKS[f].packages) versions[spec] = workspaceVersion(dir, spec)
versions.autocannon = createRequire(import.meta.url)('autocannon/package.json').version

const measured = results.filter((p) => p.rounds.length > 0)
if (!measured.some((p) => p.control)) fail('the A/A control failed; nothing to report')
const control = measured.find((p) => p.control)
const spread = (summary) => ({ low: summary.low, high: summary.high, min: summary.min, max: summary.max })
const output = {
  benchmark: 'overhead',
  description:
    'GET / → 200 "hello world", lastcall (B) against the bare framework (A). Per round: throughput ratio B/A (req/s), ' +
    'CPU-efficiency ratio (server CPU time per request, A/B: requests per CPU-second of B relative to A, which does not depend on how much of its core the server got) ' +
    'and mean-latency ratio B/A; each summarised as the median over rounds with a distribution-free ~95% interval (order statistics).',
  target: 'median throughput ratio ≥ 0.99 of the bare framework',
  machine: { ...info, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
  versions,
  config: { rounds, durationS: duration, warmupS: warmup, connections, pipelining: 1, serverCpu, loadCpu, wallClockS: Math.round((Date.now() - began) / 1000) },
  controlSpread: { throughputRatio: spread(control.throughputRatio), cpuEfficiencyRatio: spread(control.cpuEfficiencyRatio) },
  pairs: results,
}
const shown = measured

mkdirSync(args.out, { recursive: true })
writeFileSync(`${args.out}/overhead.json`, `${JSON.stringify(output, null, 2)}\n`)

const all = shown.flatMap((p) => [p.throughputRatio, p.cpuEfficiencyRatio].flatMap((x) => [x.low, x.high, x.median]))
const lo = Math.min(0.9, Math.floor(Math.min(...all) * 10) / 10)
const hi = Math.max(1.1, Math.ceil(Math.max(...all) * 10) / 10)
const step = [0.05, 0.1, 0.2, 0.25, 0.5, 1].find((x) => (hi - lo) / x <= 10)
const ticks = Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => round(lo + i * step, 2))
const bar = (p, key, what, color) => ({
  label: `${p.control ? 'A/A control' : `${p.framework} + lastcall`} · ${what}`,
  from: 1,
  value: p[key].median,
  low: p[key].low,
  high: p[key].high,
  color: p.control ? '#9d9d9d' : color,
  text: `${p[key].median.toFixed(3)} [${p[key].low.toFixed(3)}, ${p[key].high.toFixed(3)}]`,
})
const svg = barChart({
  title: 'lastcall overhead, relative to the bare framework (1.00 = no cost)',
  subtitle: `median of ${rounds} alternating rounds, whiskers: ~95% interval (order statistics) · ${info.cpuModel}, ${info.cores} cores, Node ${info.node}`,
  min: lo,
  max: hi,
  format: (v) => v.toFixed(2),
  ticks,
  legend: [
    { label: 'req/s ratio', color: '#4c78a8' },
    { label: 'requests per server CPU-second ratio', color: '#72b7b2' },
    { label: 'A/A control (bare vs bare)', color: '#9d9d9d' },
  ],
  refs: [{ at: 1, label: '1.00', color: '#444', anchor: 'start' }, { at: 0.99, label: 'target 0.99', color: '#c00', anchor: 'end' }],
  rows: shown.flatMap((p) => [bar(p, 'throughputRatio', 'req/s', '#4c78a8'), bar(p, 'cpuEfficiencyRatio', 'req/CPU-s', '#72b7b2')]),
  width: 940,
  left: 270,
  right: 170,
})
writeFileSync(`${args.out}/overhead.svg`, svg)

const fmt = (x) => `${x.median.toFixed(3)} [${x.low.toFixed(3)}, ${x.high.toFixed(3)}]`
console.log(`\nmedian [~95% interval, coverage ${(control.throughputRatio.coverage * 100).toFixed(1)}%]`)
console.log(`${'pair'.padEnd(38)} ${'req/s B/A'.padEnd(22)} ${'req per CPU-s B/A'.padEnd(22)} ${'mean latency B/A'.padEnd(22)} median req/s A → B   CPU µs/req A → B`)
for (const p of shown) {
  console.log(
    `${p.label.padEnd(38)} ${fmt(p.throughputRatio).padEnd(22)} ${fmt(p.cpuEfficiencyRatio).padEnd(22)} ${fmt(p.meanLatencyRatio).padEnd(22)} ${p.medianRps.a} → ${p.medianRps.b}   ${p.medianCpuUsPerRequest.a} → ${p.medianCpuUsPerRequest.b}`,
  )
}
console.log(`\nwrote ${args.out}/overhead.json and overhead.svg (${output.config.wallClockS} s)`)
