// Overhead in instructions, not seconds: how many CPU instructions a request
// costs with and without lastcall, counted by valgrind's callgrind.
//
//   pnpm build && node bench/overhead/instructions.mjs [--frameworks node:http,express]
//     [--variants bare,lastcall] [--warmup 3000] [--requests 2000] [--phases 5] [--processes 2]
//     [--connections 1] [--node-flags '...'] [--keep-dumps DIR] [--out docs/bench]
//
// `--keep-dumps DIR` keeps each process's last phase as a callgrind file
// (functions, no lines) for `callgrind_annotate --inclusive=yes`.
//
// Method (docs/bench-overhead.md). Each server (bare or lastcall) runs under
// callgrind in its own process. A client outside valgrind sends `warmup`
// requests (with callgrind's instrumentation off: faster, and not counted),
// then `phases` measured phases of `requests` requests each; after
// each phase `callgrind_control --dump` (which reaches the process through
// vgdb even while it sleeps in epoll_wait) writes the instructions counted
// since the previous dump and zeroes the counters. One phase gives one
// instructions-per-request sample, free of startup and JIT warm-up; the
// instructions V8's optimizing compiler spent in the phase are left out
// (see COMPILER).
//
// With `--connections 1` (the default) the client sends strictly one request
// at a time on one keep-alive connection: every event-loop turn of the
// server handles exactly one request, whatever the machine's load, so the
// count does not depend on how requests happened to batch. `--connections 4`
// is the earlier shape (four connections, one request at a time each): the
// server then often reads several requests per turn and shares a turn's
// fixed cost between them, which is closer to a server under load, but how
// much batching happens depends on the machine's load.
//
// Processes alternate bare, lastcall, bare, lastcall...; the figure per
// variant is the median of all its phases, with the spread (max - min over
// the median, in %) and the ratio lastcall/bare of the medians. Writes
// <out>/instructions.json.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machine } from './machine.mjs'
import { FRAMEWORKS, adapterAvailable, workspaceVersion } from './servers.mjs'
import { median } from './stats.mjs'

const { values: args } = parseArgs({
  options: {
    frameworks: { type: 'string' },
    variants: { type: 'string', default: 'bare,lastcall' },
    warmup: { type: 'string', default: '3000' },
    requests: { type: 'string', default: '2000' },
    phases: { type: 'string', default: '5' },
    processes: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1' },
    'keep-dumps': { type: 'string' },
    'node-flags': { type: 'string', default: '--single-threaded --no-memory-reducer --interrupt-budget=8192' },
    out: { type: 'string', default: fileURLToPath(new URL('../../docs/bench', import.meta.url)) },
  },
})
const int = (name, min) => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < min) throw new TypeError(`--${name} must be an integer ≥ ${min}, got ${args[name]}`)
  return n
}
const warmup = int('warmup', 0)
const perPhase = int('requests', 1)
const phases = int('phases', 1)
const processes = int('processes', 1)
const connections = int('connections', 1)
const variants = args.variants.split(',')
// server: lastcall with admission at the server, where the adapter offers it (Fastify's admitAt: 'server').
for (const v of variants) if (!(v in { bare: 1, lastcall: 1, noop: 1, server: 1 })) throw new TypeError(`--variants: unknown variant "${v}"; known: bare, lastcall, noop, server`)
for (const tool of ['valgrind', 'callgrind_control']) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error(`${tool} is needed (apt-get install valgrind)`)
  }
}
const frameworks = []
for (const name of args.frameworks?.split(',') ?? Object.keys(FRAMEWORKS)) {
  if (!FRAMEWORKS[name]) throw new Error(`unknown framework "${name}"; known: ${Object.keys(FRAMEWORKS).join(', ')}`)
  if (await adapterAvailable(name)) frameworks.push(name)
  else console.error(`[instructions] ${name}: its adapter is not built, skipped (pnpm build)`)
}
if (variants.includes('server') && frameworks.some((f) => f !== 'fastify')) throw new TypeError('--variants server: only fastify has it (admitAt: "server")')
/**
 * V8 made to do the same work whatever the machine's load: no background
 * threads (compilation and GC on the main thread, at points set by the
 * allocation and call counts alone, not by how threads were scheduled), no
 * memory reducer (its GCs are timed in wall-clock seconds, which a loaded
 * machine stretches over fewer or more requests), and tier-up after an
 * eighth of the usual budget so hot code reaches its steady state within the
 * warm-up. `--node-flags ''` runs Node as it comes.
 */
const nodeFlags = args['node-flags'].split(' ').filter(Boolean)
const serverScript = fileURLToPath(new URL('instructions-server.mjs', import.meta.url))

/** Starts one server under callgrind and returns its per-request sample of every measured phase. */
async function measure(framework, variant, processIndex) {
  const dir = mkdtempSync(join(tmpdir(), 'lastcall-callgrind-'))
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'out')}`, '--dump-instr=no', '--dump-line=no', '--smc-check=all-non-file', `--log-file=${join(dir, 'log')}`,
      process.execPath, ...nodeFlags, serverScript, framework, variant],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    const line = await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`${framework}/${variant} exited (${code}) before listening; see ${join(dir, 'log')}`)))
    })
    const { port } = JSON.parse(line)
    const agent = new Agent({ keepAlive: true, maxSockets: connections })
    // Startup and warm-up run without instrumentation (several times faster
    // under valgrind, and not counted anyway); counting starts here.
    await load(port, agent, warmup)
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' })
    dump(child.pid)
    const samples = []
    const raw = []
    for (let phase = 1; phase <= phases; phase++) {
      await load(port, agent, perPhase)
      const counted = dump(child.pid, dir, phase + 1)
      samples.push((counted.total - counted.compile) / perPhase)
      raw.push(counted.total / perPhase)
    }
    if (args['keep-dumps'] !== undefined) {
      // The last phase's function-level profile, for callgrind_annotate.
      mkdirSync(args['keep-dumps'], { recursive: true })
      const last = readdirSync(dir).find((f) => f.endsWith(`.${phases + 1}`))
      copyFileSync(join(dir, last), join(args['keep-dumps'], `${framework.replace(':', '-')}-${variant}-${processIndex}.callgrind`))
    }
    agent.destroy()
    return { samples, raw }
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Asks callgrind to dump and zero its counters; returns what the dump
 * numbered `n` (dumps are numbered from 1 per process) counted, when asked:
 * `total` instructions and the part of them spent in V8's compilers.
 */
function dump(pid, dir, n) {
  execFileSync('callgrind_control', ['--dump', String(pid)], { stdio: 'ignore' })
  if (dir === undefined) return undefined
  const file = readdirSync(dir).find((f) => f.endsWith(`.${n}`))
  if (file === undefined) throw new Error(`callgrind wrote no dump ${n} in ${dir}`)
  const text = readFileSync(join(dir, file), 'utf8')
  const summary = /^summary: (\d+)/m.exec(text)
  if (!summary) throw new Error(`no summary line in ${join(dir, file)}`)
  const counted = { total: Number(summary[1]), compile: compilerInstructions(text) }
  if (counted.compile > counted.total) throw new Error(`${join(dir, file)}: compiler instructions above the total`)
  return counted
}

/**
 * V8's compilers, by function name (node's binary has symbols). A function
 * that turns hot late is compiled in whatever phase it turns hot in, and how
 * late depends on timers (Node's Date header cache, keep-alive timeouts)
 * firing per wall-clock second, so on the machine's load: a phase holding a
 * TurboFan compile counted up to 15% more. Compiling is no per-request work,
 * so it is left out of the samples (and kept in the JSON).
 */
const COMPILER = /v8::internal::(?:compiler|maglev|baseline)::|v8::internal::Compiler::|CompilationJob|v8::internal::Zone::/

/** Self cost of the compiler's functions in a callgrind dump (names compressed as `fn=(id) name`, calls' inclusive costs skipped). */
function compilerInstructions(text) {
  const names = new Map()
  let inCompiler = false
  let skipNext = false
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=') || line.startsWith('cfn=')) {
      const m = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line)
      const name = m === null ? line.slice(line.indexOf('=') + 1) : (m[2] ?? names.get(m[1]))
      if (m !== null && m[2] !== undefined) names.set(m[1], m[2])
      if (line.startsWith('fn=')) inCompiler = COMPILER.test(name ?? '')
    } else if (line.startsWith('calls=')) {
      skipNext = true
    } else if (/^[0-9+*-]/.test(line)) {
      if (skipNext) skipNext = false
      else if (inCompiler) sum += Number(line.trim().split(/\s+/).pop())
    }
  }
  return sum
}

/** `total` GET / on the agent's connections, each connection one request at a time. */
async function load(port, agent, total) {
  let sent = 0
  // A request reset before the server read it was not served there: send it again.
  const one = () =>
    new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(true))
      }).on('error', (error) => (error.code === 'ECONNRESET' ? resolve(false) : reject(error))).end()
    })
  const worker = async () => {
    while (sent < total) {
      sent++
      if (!(await one())) sent--
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
}

const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / median(xs)
const pct = (x) => `${(x * 100).toFixed(2)}%`
const results = []
for (const framework of frameworks) {
  const samples = Object.fromEntries(variants.map((v) => [v, []]))
  const withCompiler = Object.fromEntries(variants.map((v) => [v, []]))
  const perProcess = Object.fromEntries(variants.map((v) => [v, []]))
  for (let p = 0; p < processes; p++) {
    for (const variant of variants) {
      let measured
      try {
        measured = await measure(framework, variant, p + 1)
      } catch (error) {
        // A server that died under valgrind (seen once at load 60) costs its process's samples, not the whole run.
        console.error(`[instructions] ${framework} ${variant} process ${p + 1} failed, left out: ${error.message}`)
        continue
      }
      const { samples: s, raw } = measured
      samples[variant].push(...s)
      withCompiler[variant].push(...raw)
      perProcess[variant].push(median(s))
      console.error(`[instructions] ${framework} ${variant} process ${p + 1}: ${s.map((x) => Math.round(x)).join(', ')} (median ${Math.round(median(s))}, spread ${pct(spread(s))})`)
    }
  }
  const summary = Object.fromEntries(variants.map((v) => [v, { median: Math.round(median(samples[v])), spread: Number(spread(samples[v]).toFixed(5)), processMedians: perProcess[v].map(Math.round), samples: samples[v].map(Math.round), samplesWithCompiler: withCompiler[v].map(Math.round) }]))
  const result = { framework, versions: Object.fromEntries(FRAMEWORKS[framework].packages.map(([dir, spec]) => [spec, workspaceVersion(dir, spec)])), ...summary }
  if (summary.bare !== undefined) {
    for (const v of variants) if (v !== 'bare') result[`${v}/bare`] = Number((summary[v].median / summary.bare.median).toFixed(4))
  }
  if (summary.noop !== undefined && summary.lastcall !== undefined) result['lastcall/noop'] = Number((summary.lastcall.median / summary.noop.median).toFixed(4))
  results.push(result)
}
mkdirSync(args.out, { recursive: true })
const file = join(args.out, 'instructions.json')
writeFileSync(file, `${JSON.stringify({ benchmark: 'instructions', date: new Date().toISOString(), machine: machine(), nodeFlags, warmup, requests: perPhase, phases, processes, connections, results }, null, 2)}\n`)
const ratioColumns = [...new Set(results.flatMap((r) => Object.keys(r).filter((k) => k.includes('/'))))]
console.log(`| framework | ${variants.map((v) => `${v} instr/request (spread)`).join(' | ')} | ${ratioColumns.join(' | ')} |`)
console.log(`| --- | ${variants.map(() => '---:').join(' | ')} | ${ratioColumns.map(() => '---:').join(' | ')} |`)
for (const r of results) {
  console.log(`| ${r.framework} | ${variants.map((v) => `${r[v].median.toLocaleString('en-US')} (${pct(r[v].spread)})`).join(' | ')} | ${ratioColumns.map((c) => (r[c] === undefined ? '' : r[c].toFixed(4))).join(' | ')} |`)
}
console.error(`[instructions] wrote ${file}`)
