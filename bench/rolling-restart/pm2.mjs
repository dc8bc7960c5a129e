#!/usr/bin/env node
// `pm2 reload` of a variant in PM2 7's cluster mode, 2 instances, with PM2's
// own defaults (SIGINT, SIGKILL after kill_timeout 1.6 s), while keep-alive
// clients send the usual mix straight to the port (no balancer: PM2's daemon
// hands out the connections). Every request is classified; the reload's
// duration (the `pm2 reload` command, start to end) and each instance's exit
// are recorded. Results go to docs/bench/pm2-reload.json and a Markdown table.
//
//   node bench/rolling-restart/pm2.mjs [--variants a,b] [--connections 32] [--reloads 2]
//
// Needs the built packages and pm2 (a devDependency of examples/deploy).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createConnection, createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startLoad } from './client.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const pm2Bin = createRequire(join(root, 'examples', 'deploy', 'package.json')).resolve('pm2/bin/pm2')

/** The variants compared (files in variants/), each with the library's defaults. */
const VARIANTS = {
  'naive-exit': 'process.exit() on SIGTERM (PM2 sends SIGINT: Node dies of it at once)',
  'server-close': 'server.close() on SIGTERM (dies of SIGINT at once)',
  terminus: '@godaddy/terminus defaults (SIGTERM only: dies of SIGINT at once)',
  'http-terminator': 'http-terminator defaults (on SIGTERM: dies of SIGINT at once)',
  stoppable: 'stoppable defaults (on SIGTERM: dies of SIGINT at once)',
  lastcall: 'lastcall core, library defaults (recognises PM2 cluster mode)',
}

const { values: opts } = parseArgs({ options: { variants: { type: 'string' }, connections: { type: 'string', default: '32' }, reloads: { type: 'string', default: '2' }, pause: { type: 'string', default: '20' }, out: { type: 'string', default: join(root, 'docs', 'bench') } } })
const names = opts.variants ? opts.variants.split(',') : Object.keys(VARIANTS)
for (const n of names) if (!(n in VARIANTS)) throw new Error(`unknown variant "${n}"; known: ${Object.keys(VARIANTS).join(', ')}`)

/** @param {string} home @param {string[]} args */
function pm2(home, args) {
  const t0 = performance.now()
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [pm2Bin, ...args], { env: { ...process.env, PM2_HOME: home }, timeout: 120_000 }, (error, stdout) => {
      if (error) reject(error)
      else resolvePromise({ ms: Math.round(performance.now() - t0), stdout })
    })
  })
}

async function freePort() {
  const s = createServer()
  await new Promise((r) => s.listen(0, '127.0.0.1', () => r(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (s.address())
  await new Promise((r) => s.close(() => r(undefined)))
  return port
}

/** Waits (bounded) until something accepts on the port. @param {number} port */
async function listening(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => (c.destroy(), r(true)))
      c.on('error', () => r(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on ${port}`)
}

/** @param {string} variant */
async function scenario(variant) {
  const dir = mkdtempSync(join(tmpdir(), 'lastcall-bench-pm2-'))
  const home = join(dir, 'home')
  const port = await freePort()
  const t0 = performance.now()
  const now = () => Math.round((performance.now() - t0) * 10) / 10
  try {
    const ecosystem = join(dir, 'ecosystem.json')
    writeFileSync(ecosystem, JSON.stringify({ apps: [{ name: 'app', script: join(here, 'variants', `${variant}.mjs`), args: ['--port', String(port)], instances: 2, exec_mode: 'cluster', cwd: here }] }))
    await pm2(home, ['start', ecosystem])
    await listening(port)
    const load = startLoad({ port, connections: Number(opts.connections), pauseMs: Number(opts.pause), now })
    await new Promise((r) => setTimeout(r, 1000))
    const reloads = []
    for (let i = 0; i < Number(opts.reloads); i++) {
      const from = now()
      const { ms } = /** @type {{ ms: number }} */ (await pm2(home, ['reload', 'app']))
      reloads.push({ ms, from, to: now() })
      await new Promise((r) => setTimeout(r, 1000))
    }
    await load.stop(15_000)
    /** @type {Record<string, number>} */
    const outcomes = {}
    for (const r of load.records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
    const failed = load.records.filter((r) => r.outcome !== 'ok')
    const pm2log = /** @type {{ stdout: string }} */ (await pm2(home, ['jlist'])).stdout
    const restarts = JSON.parse(pm2log.slice(pm2log.indexOf('['))).map((/** @type {any} */ p) => p.pm2_env?.unstable_restarts ?? 0)
    return { variant, requests: load.records.length, failed: failed.length, outcomes, failedByKind: Object.fromEntries(['fast', 'post', 'slow'].map((k) => [k, failed.filter((r) => r.kind === k).length])), reloadsMs: reloads.map((r) => r.ms), unstableRestarts: restarts }
  } finally {
    await pm2(home, ['kill']).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

const results = []
for (const v of names) {
  const r = await scenario(v)
  results.push(r)
  console.error(`[pm2] ${v.padEnd(16)} ${String(r.requests).padStart(6)} requests, ${String(r.failed).padStart(4)} failed ${JSON.stringify(r.failedByKind)}, reloads ${r.reloadsMs.join(', ')} ms`)
}
const table = [
  `PM2 7 cluster mode, 2 instances, PM2's defaults (SIGINT, kill_timeout 1.6 s); ${opts.connections} keep-alive clients straight on the port (80% GET /fast, 15% POST, 5% GET /slow 0.5-2 s); ${opts.reloads} \`pm2 reload\` each`,
  '',
  '| variant | requests | failed | failed fast / post / slow | `pm2 reload` (ms) |',
  '|---|---:|---:|---|---:|',
  ...results.map((r) => `| ${r.variant} | ${r.requests.toLocaleString('en-US')} | ${r.failed} | ${r.failedByKind.fast} / ${r.failedByKind.post} / ${r.failedByKind.slow} | ${r.reloadsMs.join(', ')} |`),
].join('\n')
writeFileSync(join(opts.out, 'pm2-reload.json'), JSON.stringify({ benchmark: 'pm2-reload', date: new Date().toISOString(), node: process.version, cpus: cpus().length, variants: VARIANTS, settings: { connections: Number(opts.connections), pauseMs: Number(opts.pause), reloads: Number(opts.reloads) }, results }, null, 2) + '\n')
writeFileSync(join(opts.out, 'pm2-reload-table.md'), table + '\n')
console.log(table)
