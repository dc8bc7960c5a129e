#!/usr/bin/env node
// The drain on every runtime lastcall is tested on: the runtime's own
// server.close() beside lastcall, under keep-alive load, and with a client
// that connected but never sent a request. Also prints which version-dependent
// node:http facts each runtime has (facts.mjs). Bounded: every server is
// killed after 10 s, every round ends by itself.
//
//   node bench/runtimes/run.mjs [--rounds 5] [--runtimes node20,node22,node24,node26,bun,deno,deno-serve,bun-serve] [--modes close,shutdown,stop,lastcall]
//
// `deno-serve` is Deno's native server (Deno.serve, deno-serve.js): its own
// server.shutdown() beside @lastcall/deno's driver. `bun-serve` is Bun's
// (Bun.serve, bun-serve.js): its own server.stop() beside @lastcall/bun's driver.
//
// Needs the built packages (`pnpm build`) and installs the pinned runtimes
// with scripts/runtime.sh on first use.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const script = join(here, '..', '..', 'scripts', 'runtime.sh')
const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno,deno-serve,bun-serve' }, modes: { type: 'string' } } })
const rounds = Number(opts.rounds)

/** @param {string} name @returns {string[] | undefined} the command prefix, or undefined when it cannot run here */
function prefix(name) {
  if (name === 'node20') return ['node'] // the machine's own Node (20 in CI)
  try {
    const args = name.startsWith('node') ? ['node', name.slice(4)] : [name.replace(/-serve$/, '')]
    const bin = execFileSync(script, args, { encoding: 'utf8' }).trim()
    return name.startsWith('deno') ? [bin, 'run', '-A'] : [bin]
  } catch {
    return undefined
  }
}

/** Starts server.mjs; resolves with the child and its port. */
async function start(cmd, mode) {
  const [bin, ...args] = cmd
  const file = cmd.native ?? 'server.mjs'
  const child = spawn(bin, [...args, join(here, file), '--mode', mode], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] })
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const exited = once(child, 'exit').then(([code, signal]) => (clearTimeout(killer), { code, signal, at: performance.now() }))
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line.startsWith('LISTENING ') && resolve(Number(line.slice(10))))
    void exited.then(() => reject(new Error('server exited before listening')))
  })
  return { child, port, exited }
}

/** One keep-alive client in a closed loop until a refused connection (or 3,000 requests). */
async function hammer(port, agent, counts, onResponse) {
  for (let n = 0; n < 3000; n++) {
    const outcome = await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume().on('end', () => resolve({ ok: true }))
        res.on('error', (e) => resolve({ ok: false, code: e.code, reused: req.reusedSocket }))
      })
      req.on('error', (e) => resolve({ ok: false, code: e.code, reused: req.reusedSocket }))
      req.end()
    })
    if (outcome.ok) {
      counts.ok++
      onResponse()
      continue
    }
    if (outcome.code === 'ECONNREFUSED') return void counts.refused++
    if (outcome.reused) counts.resets++
    else counts.freshErrors++
  }
}

async function hammerRound(cmd, mode) {
  const { child, port, exited } = await start(cmd, mode)
  const counts = { ok: 0, resets: 0, refused: 0, freshErrors: 0 }
  let sigtermAt = 0
  const onResponse = () => {
    if (counts.ok === 200) {
      sigtermAt = performance.now()
      child.kill('SIGTERM')
    }
  }
  const agents = [0, 1, 2, 3].map(() => new Agent({ keepAlive: true, maxSockets: 2 }))
  await Promise.all(agents.flatMap((a) => [hammer(port, a, counts, onResponse), hammer(port, a, counts, onResponse)]))
  for (const a of agents) a.destroy()
  const exit = await exited
  return { ...counts, code: exit.code ?? exit.signal, exitMs: Math.round(exit.at - sigtermAt) }
}

/** A client that connected and never sent a byte: how long from SIGTERM to exit? */
async function silentRound(cmd, mode) {
  const { child, port, exited } = await start(cmd, mode)
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  const sigtermAt = performance.now()
  child.kill('SIGTERM')
  const exit = await exited
  socket.destroy()
  return { code: exit.code ?? exit.signal, exitMs: Math.round(exit.at - sigtermAt) }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
for (const name of opts.runtimes.split(',')) {
  const cmd = prefix(name)
  if (!cmd) {
    console.log(`${name}: cannot run here (scripts/runtime.sh failed), skipped`)
    continue
  }
  const version = execFileSync(cmd[0], ['--version'], { encoding: 'utf8' }).split('\n')[0]
  const native = name.endsWith('-serve')
  if (native) cmd.native = `${name}.js`
  if (!native) {
    const facts = execFileSync(cmd[0], [...cmd.slice(1), join(here, 'facts.mjs')], { encoding: 'utf8', cwd: here }).trim()
    console.log(`${name} (${version}): ${facts}`)
  }
  // `stop-at-once` (bun-serve only) runs when --modes names it.
  const experiments = name === 'bun-serve' && opts.modes?.split(',').includes('stop-at-once') ? ['stop-at-once'] : []
  for (const mode of native ? [name === 'bun-serve' ? 'stop' : 'shutdown', 'lastcall', ...experiments] : ['close', 'lastcall']) {
    if (opts.modes !== undefined && !opts.modes.split(',').includes(mode)) continue
    const results = []
    for (let r = 0; r < rounds; r++) results.push(await hammerRound(cmd, mode))
    const silent = await silentRound(cmd, mode)
    const sum = (k) => results.reduce((n, x) => n + x[k], 0)
    rows.push({
      runtime: `${name} ${version}`, mode, requests: sum('ok'), resets: sum('resets'), roundsWithReset: results.filter((x) => x.resets > 0).length,
      freshErrors: sum('freshErrors'), exitCodes: [...new Set(results.map((x) => x.code))].join(','), exitMs: median(results.map((x) => x.exitMs)),
      silentExit: silent.code === 'SIGKILL' ? 'killed at 10 s' : `${silent.exitMs} ms (code ${silent.code})`,
    })
    console.log(JSON.stringify(rows.at(-1)))
  }
}
console.log(`\n| Runtime | Stopped by | Requests | Resets on a reused socket (rounds with one, of ${rounds}) | Other errors | Exit code | SIGTERM → exit (median) | A client that never sent a request: SIGTERM → exit |`)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.runtime} | ${r.mode === 'close' ? "its own server.close()" : r.mode === 'shutdown' ? 'its own server.shutdown()' : r.mode === 'stop' ? 'its own server.stop()' : r.mode === 'stop-at-once' ? 'lastcall, stop(false) at the drain (no linger)' : 'lastcall'} | ${r.requests} | ${r.resets} (${r.roundsWithReset}) | ${r.freshErrors} | ${r.exitCodes} | ${r.exitMs} ms | ${r.silentExit} |`)
