#!/usr/bin/env node
// Same-port restarts of one instance on one machine, with no balancer in
// front: bounded keep-alive load straight at the port (the loopback), and the
// instance restarted --restarts times by each mechanism. Every request the
// clients sent is classified; a refused connect counts as failed (behind a
// proxy with retries off it is a 502). Results go to docs/bench/.
//
//   node bench/rolling-restart/same-port.mjs [--mechanisms a,b] [--restarts 3]
//
// Mechanisms:
//   <variant>           SIGTERM, wait for the exit, start the replacement on the same port
//                       (naive-exit, server-close, terminus, http-terminator, stoppable, lastcall, lastcall-delay-0)
//   lastcall-socket     systemd-socket-activate holds the port; a holder restarts lastcall on fd 3 (systemctl restart)
//   lastcall-socket-overlap  the same, the replacement starts before the old one gets SIGTERM
//   lastcall-reuseport  Node ≥ 22.12: the replacement binds with reusePort, then the old one gets SIGTERM
//   lastcall-socket-delay-0, lastcall-reuseport-delay-0  the same with readinessDelayMs 0
//   lastcall-docker     lastcall as PID 1 in a container (host network): docker stop -t 30, then docker run
//
// Needs built packages (pnpm -r --filter './packages/*' build); systemd-socket-activate,
// a Node ≥ 22.12 (LASTCALL_NODE22 or scripts/node-version.sh 22) and Docker (scripts/docker.sh)
// for the mechanisms that use them: one that cannot run is reported as skipped with the reason.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { cpus, release, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { startLoad } from './client.mjs'
import { snapshot } from './snapshot.mjs'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const HOLDER = join(root, 'examples', 'deploy', 'test', 'fixtures', 'socket-holder.mjs')
const DOCKER_SCRIPT = join(root, 'scripts', 'docker.sh')
const DOCKER_DIR = process.env.LASTCALL_DOCKER_DIR ?? '/tmp/lastcall-docker'
const BASE_IMAGE = 'lastcall-node:local'

/** @type {Record<string, { kind: 'process' | 'socket' | 'reuseport' | 'docker', file?: string, args?: string[], mode?: 'restart' | 'overlap', about: string }>} */
const MECHANISMS = {
  'naive-exit': { kind: 'process', file: 'naive-exit.mjs', about: 'process.exit() on SIGTERM; replacement started after the exit' },
  'server-close': { kind: 'process', file: 'server-close.mjs', about: 'server.close(), exit when it calls back; replacement after the exit' },
  terminus: { kind: 'process', file: 'terminus.mjs', about: '@godaddy/terminus defaults; replacement after the exit' },
  'http-terminator': { kind: 'process', file: 'http-terminator.mjs', about: 'http-terminator defaults; replacement after the exit' },
  stoppable: { kind: 'process', file: 'stoppable.mjs', about: 'stoppable defaults; replacement after the exit' },
  lastcall: { kind: 'process', file: 'lastcall.mjs', about: 'lastcall defaults; replacement after the exit' },
  'lastcall-delay-0': { kind: 'process', file: 'lastcall.mjs', args: ['--readiness-delay-ms', '0'], about: 'lastcall, readinessDelayMs 0; replacement after the exit' },
  'lastcall-socket': { kind: 'socket', mode: 'restart', about: 'lastcall defaults on fd 3 from systemd-socket-activate; a holder restarts it (replacement after the exit)' },
  'lastcall-socket-overlap': { kind: 'socket', mode: 'overlap', about: 'the same; the replacement starts first, then the old one gets SIGTERM' },
  'lastcall-socket-delay-0': { kind: 'socket', mode: 'restart', args: ['--readiness-delay-ms', '0'], about: 'lastcall-socket with readinessDelayMs 0 (nothing routes by readiness here)' },
  'lastcall-reuseport': { kind: 'reuseport', about: 'lastcall defaults with reusePort (Node 22); the replacement binds first, then the old one gets SIGTERM' },
  'lastcall-reuseport-delay-0': { kind: 'reuseport', args: ['--readiness-delay-ms', '0'], about: 'lastcall-reuseport with readinessDelayMs 0' },
  'lastcall-docker': { kind: 'docker', about: 'lastcall defaults as PID 1 in a container (--network host); docker stop -t 30, then docker run' },
}

const { values: opts } = parseArgs({
  options: {
    mechanisms: { type: 'string' },
    restarts: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    pause: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'docs', 'bench') },
  },
})
const names = opts.mechanisms ? opts.mechanisms.split(',') : Object.keys(MECHANISMS)
for (const n of names) if (!MECHANISMS[n]) throw new Error(`unknown mechanism "${n}"; known: ${Object.keys(MECHANISMS).join(', ')}`)
const restarts = Number(opts.restarts)
const EXIT_TIMEOUT_MS = 35_000
const WARMUP_MS = 700
const SETTLE_MS = 300

/** Every process started here, killed by pid on the way out. */
const pids = new Set()
const containers = new Set()
process.on('exit', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

/** A free loopback port below the ephemeral range, so no outgoing connection takes it during a restart's gap. */
async function freePort() {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  for (let i = 0; i < 200; i++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 12_000))
    const server = createServer()
    const ok = await new Promise((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (!ok) continue
    server.close()
    await once(server, 'close')
    return port
  }
  throw new Error('no free port')
}

/** Resolves with the first line of `stream` matching `re` (bounded). @param {import('node:stream').Readable} stream @param {RegExp} re @param {string[]} log */
function lineMatching(stream, re, log = []) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: stream })
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within 20 s: ${log.slice(-5).join(' | ')}`)), 20_000)
    rl.on('line', (line) => {
      log.push(line)
      if (!re.test(line)) return
      clearTimeout(timer)
      resolve(line)
    })
  })
}

/** A Node binary with reusePort, or undefined. */
function node22() {
  const candidates = [process.env.LASTCALL_NODE22, process.execPath]
  if (existsSync(join(root, 'scripts', 'node-version.sh'))) {
    try {
      candidates.unshift(execFileSync(join(root, 'scripts', 'node-version.sh'), ['22'], { encoding: 'utf8' }).trim())
    } catch {
      // not installable
    }
  }
  for (const path of candidates) {
    if (!path) continue
    try {
      const [major = 0, minor = 0] = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number)
      if (major > 22 || (major === 22 && minor >= 12)) return path
    } catch {
      // not runnable
    }
  }
  return undefined
}

/**
 * @typedef {{ restart(): Promise<{ restartMs: number, exitCode: number | null, signal?: string | null }>, stop(): Promise<void> }} Instance
 * @param {string} name @param {number} port @param {string} variantsDir
 * @returns {Promise<Instance>}
 */
async function startMechanism(name, port, variantsDir) {
  const m = /** @type {(typeof MECHANISMS)[string]} */ (MECHANISMS[name])
  if (m.kind === 'process' || m.kind === 'reuseport') {
    const node = m.kind === 'reuseport' ? /** @type {string} */ (node22()) : process.execPath
    const file = join(variantsDir, m.kind === 'reuseport' ? 'lastcall-socket.mjs' : /** @type {string} */ (m.file))
    const args = [...(m.kind === 'reuseport' ? ['--reuse-port'] : []), ...(m.args ?? [])]
    const spawnOne = async () => {
      const child = spawn(node, [file, '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      if (child.pid) pids.add(child.pid)
      const exited = /** @type {Promise<[number | null, string | null]>} */ (once(child, 'exit'))
      await lineMatching(/** @type {import('node:stream').Readable} */ (child.stdout), /^LISTENING /)
      return { child, exited }
    }
    /** @param {{ child: import('node:child_process').ChildProcess, exited: Promise<[number | null, string | null]> }} one */
    const terminate = async (one) => {
      one.child.kill('SIGTERM')
      const timer = setTimeout(() => one.child.kill('SIGKILL'), EXIT_TIMEOUT_MS)
      const [code, signal] = await one.exited
      clearTimeout(timer)
      if (one.child.pid) pids.delete(one.child.pid)
      return { exitCode: code, signal }
    }
    let current = await spawnOne()
    return {
      async restart() {
        const t0 = performance.now()
        let exit
        if (m.kind === 'reuseport') {
          const next = await spawnOne()
          exit = await terminate(current)
          current = next
        } else {
          exit = await terminate(current)
          current = await spawnOne()
        }
        return { restartMs: Math.round(performance.now() - t0), ...exit }
      },
      async stop() {
        await terminate(current)
      },
    }
  }
  if (m.kind === 'socket') {
    const holder = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, process.execPath, HOLDER, process.execPath, join(variantsDir, 'lastcall-socket.mjs'), ...(m.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] })
    if (holder.pid) pids.add(holder.pid)
    await lineMatching(/** @type {import('node:stream').Readable} */ (holder.stderr), /^Listening on /)
    /** @type {Array<{ event: string, pid: number, line?: string, code?: number | null, signal?: string | null }>} */
    const events = []
    /** @type {Array<[(e: (typeof events)[number]) => boolean, (e: (typeof events)[number]) => void]>} */
    const waiters = []
    createInterface({ input: /** @type {import('node:stream').Readable} */ (holder.stdout) }).on('line', (line) => {
      if (!line.startsWith('{')) return
      const e = JSON.parse(line)
      events.push(e)
      for (const w of [...waiters]) {
        if (!w[0](e)) continue
        waiters.splice(waiters.indexOf(w), 1)
        w[1](e)
      }
    })
    /** @param {(e: (typeof events)[number]) => boolean} p @returns {Promise<(typeof events)[number]>} */
    const next = (p) => {
      const found = events.find(p)
      return found ? Promise.resolve(found) : new Promise((r) => waiters.push([p, r]))
    }
    // The first connection makes systemd-socket-activate start the holder.
    const poke = connect(port, '127.0.0.1')
    poke.on('error', () => {})
    let pid = (await next((e) => e.event === 'started')).pid
    const seen = new Set([pid])
    await next((e) => e.event === 'line' && e.pid === pid && /^LISTENING/.test(e.line ?? ''))
    poke.destroy()
    return {
      async restart() {
        const t0 = performance.now()
        const old = pid
        holder.stdin?.write(`${m.mode}\n`)
        pid = (await next((e) => e.event === 'started' && !seen.has(e.pid))).pid
        seen.add(pid)
        const fresh = pid
        await next((e) => e.event === 'line' && e.pid === fresh && /^LISTENING/.test(e.line ?? ''))
        const exit = await next((e) => e.event === 'exit' && e.pid === old)
        return { restartMs: Math.round(performance.now() - t0), exitCode: exit.code ?? null, signal: exit.signal ?? null }
      },
      async stop() {
        holder.stdin?.write('stop\n')
        await once(holder, 'exit')
        if (holder.pid) pids.delete(holder.pid)
      },
    }
  }
  // docker
  const env = { ...process.env, DOCKER_HOST: `unix://${DOCKER_DIR}/docker.sock` }
  const frozen = dirname(dirname(dirname(variantsDir)))
  let n = 0
  const runOne = async () => {
    const name = `lastcall-bench-${process.pid}-${n++}`
    containers.add(name)
    await run('docker', ['run', '-d', '--name', name, '--network', 'host', '-v', `${root}:${root}:ro`, '-v', `${frozen}:${frozen}:ro`, BASE_IMAGE, 'node', join(variantsDir, 'lastcall.mjs'), '--port', String(port)], { env })
    const logs = spawn('docker', ['logs', '-f', name], { env, stdio: ['ignore', 'pipe', 'ignore'] })
    await lineMatching(/** @type {import('node:stream').Readable} */ (logs.stdout), /^LISTENING /)
    logs.kill()
    return name
  }
  /** @param {string} name */
  const stopOne = async (name) => {
    await run('docker', ['stop', '-t', '30', name], { env, timeout: 60_000 })
    const exitCode = Number((await run('docker', ['inspect', '-f', '{{.State.ExitCode}}', name], { env })).stdout.trim())
    await run('docker', ['rm', name], { env })
    containers.delete(name)
    return { exitCode }
  }
  let current = await runOne()
  return {
    async restart() {
      const t0 = performance.now()
      const exit = await stopOne(current)
      current = await runOne()
      return { restartMs: Math.round(performance.now() - t0), ...exit }
    },
    async stop() {
      await stopOne(current)
    },
  }
}

/** Why a mechanism cannot run here, or undefined. @param {string} name */
async function unavailable(name) {
  const kind = MECHANISMS[name]?.kind
  if (kind === 'socket') {
    try {
      execFileSync('systemd-socket-activate', ['--version'], { stdio: 'ignore' })
    } catch {
      return 'systemd-socket-activate is not installed (Debian package systemd)'
    }
  }
  if (kind === 'reuseport' && !node22()) return 'no Node ≥ 22.12 (set LASTCALL_NODE22)'
  if (kind === 'docker') {
    await run(DOCKER_SCRIPT, ['start'], { env: { ...process.env, LASTCALL_DOCKER_DIR: DOCKER_DIR } })
    const envFile = readFileSync(join(DOCKER_DIR, 'env'), 'utf8')
    const skip = /LASTCALL_SKIP_DOCKER='(.*)'/.exec(envFile)
    if (skip) return skip[1]
    await run(DOCKER_SCRIPT, ['image'], { env: { ...process.env, LASTCALL_DOCKER_DIR: DOCKER_DIR, IMAGE: BASE_IMAGE } })
  }
  return undefined
}

/** @param {string} name @param {string} variantsDir */
async function scenario(name, variantsDir) {
  const port = await freePort()
  const t0 = performance.now()
  const now = () => Math.round((performance.now() - t0) * 10) / 10
  const instance = await startMechanism(name, port, variantsDir)
  const load = startLoad({ port, connections: Number(opts.connections), pauseMs: Number(opts.pause), now, seed: 1 })
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  const results = []
  for (let i = 0; i < restarts; i++) {
    results.push(await instance.restart())
    await new Promise((r) => setTimeout(r, SETTLE_MS))
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  await load.stop(EXIT_TIMEOUT_MS)
  await instance.stop()
  /** @type {Record<string, number>} */
  const outcomes = {}
  for (const r of load.records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
  const failed = load.records.filter((r) => r.outcome !== 'ok').length
  const times = results.map((r) => r.restartMs).sort((a, b) => a - b)
  return { mechanism: name, requests: load.records.length, failed, outcomes, restarts: results, restartMedianMs: times[Math.floor(times.length / 2)] ?? null }
}

const frozenDir = mkdtempSync(join(tmpdir(), 'lastcall-bench-code-'))
let startedDocker = false
try {
  const frozen = await snapshot({ root, packages: ['core'], dir: frozenDir })
  const results = []
  for (const name of names) {
    if (MECHANISMS[name]?.kind === 'docker') startedDocker = !existsSync(join(DOCKER_DIR, 'dockerd.pid'))
    const reason = await unavailable(name)
    if (reason) {
      console.error(`[same-port] ${name}: skipped (${reason})`)
      results.push({ mechanism: name, skipped: reason })
      continue
    }
    const r = await scenario(name, frozen.variantsDir)
    results.push(r)
    console.error(`[same-port] ${name.padEnd(24)} ${String(r.requests).padStart(6)} requests, ${String(r.failed).padStart(4)} failed ${JSON.stringify(Object.fromEntries(Object.entries(r.outcomes).filter(([k]) => k !== 'ok')))}  restart ${r.restarts.map((x) => `${x.restartMs} ms (exit ${x.exitCode})`).join(', ')}`)
  }
  const machine = { node: process.version, os: release(), cpus: cpus().length, lastcall: execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' }).trim() }
  mkdirSync(opts.out, { recursive: true })
  writeFileSync(join(opts.out, 'same-port-restart.json'), JSON.stringify({ benchmark: 'same-port-restart', date: new Date().toISOString(), machine, settings: { restarts, connections: Number(opts.connections), pauseMs: Number(opts.pause), mix: '80% GET /fast, 15% POST /orders, 5% GET /slow (0.5-2 s)' }, mechanisms: Object.fromEntries(names.map((n) => [n, MECHANISMS[n]?.about])), results }, null, 2) + '\n')
  const table = [
    `Same-port restarts, ${restarts} per mechanism, ${opts.connections} keep-alive clients straight at the port (no balancer; a refused connect counts as failed)`,
    '',
    '| mechanism | requests | failed | how they failed | restart median (ms) | exit codes |',
    '|---|---:|---:|---|---:|---|',
    ...results.map((r) => ('skipped' in r ? `| ${r.mechanism} | - | - | skipped: ${r.skipped} | - | - |` : `| ${r.mechanism} | ${r.requests.toLocaleString('en-US')} | ${r.failed} | ${Object.entries(r.outcomes).filter(([k]) => k !== 'ok').map(([k, v]) => `${v} ${k}`).join(', ') || '-'} | ${r.restartMedianMs?.toLocaleString('en-US')} | ${r.restarts.map((x) => x.exitCode ?? x.signal).join(', ')} |`)),
  ].join('\n')
  writeFileSync(join(opts.out, 'same-port-restart-table.md'), table + '\n')
  console.log(table)
} finally {
  for (const c of containers) await run('docker', ['rm', '-f', c], { env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_DIR}/docker.sock` } }).catch(() => {})
  if (startedDocker) await run(DOCKER_SCRIPT, ['stop'], { env: { ...process.env, LASTCALL_DOCKER_DIR: DOCKER_DIR } }).catch(() => {})
  rmSync(frozenDir, { recursive: true, force: true })
}
