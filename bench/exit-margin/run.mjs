// What the grace-period safety margin must cover, measured: from the platform's
// stop signal to the moment the process is gone, minus lastcall's timeoutMs. A
// real child (app.mjs) with a request that never answers and a hook that never
// settles is sent SIGTERM; its timeoutMs expires and it exits. Each run gives:
//
//   signal    SIGTERM sent → the controller's 'shutdown started' (delivery, event loop)
//   late      how late the timeoutMs timer fired after started + timeoutMs
//   exitPath  timer fired → the process's 'exit' event (report, logging, process.exit)
//   reap      'exit' event → the parent sees the child gone (teardown, SIGCHLD)
//   overshoot SIGTERM sent → child gone, minus timeoutMs: what the margin must cover
//
//   node bench/exit-margin/run.mjs [--runs 30] [--timeout 500] [--heap-mb 0] [--core <index.js>]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { request } from 'node:http'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, timeout: { type: 'string', default: '500' }, core: { type: 'string' }, 'heap-mb': { type: 'string', default: '0' } } })
const core = values.core ?? fileURLToPath(import.meta.resolve('@lastcall/core'))
const timeoutMs = Number(values.timeout)
const ms = (a, b) => Number(b - a) / 1e6

async function measure() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./app.mjs', import.meta.url))], {
    env: { ...process.env, LASTCALL_CORE: core, TIMEOUT_MS: String(timeoutMs), HEAP_MB: values['heap-mb'] },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let reaped
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { reaped = process.hrtime.bigint(); resolve({ code, signal }) }))
  // 'close': the child's stdout is read to the end as well.
  const closed = once(child, 'close')
  const events = {}
  const waiters = []
  createInterface({ input: child.stdout }).on('line', (text) => {
    const e = JSON.parse(text)
    events[e.event] = e
    for (const w of waiters.splice(0)) w()
  })
  const next = async (name) => {
    while (!events[name]) await new Promise((resolve) => waiters.push(resolve))
    return events[name]
  }
  const { port } = await next('listening')
  // A request in flight, answered by nobody: the drain has something to cut at its deadline.
  const held = request({ host: '127.0.0.1', port, path: '/' })
  held.on('error', () => {})
  held.end()
  await next('request')
  const sent = process.hrtime.bigint()
  child.kill('SIGTERM')
  const { code } = await exited
  await closed
  const t = (name) => BigInt(events[name].t)
  return {
    code,
    signal: ms(sent, t('started')),
    late: ms(t('started'), t('timeout')) - timeoutMs,
    exitPath: ms(t('timeout'), t('exit')),
    reap: ms(t('exit'), reaped),
    overshoot: ms(sent, reaped) - timeoutMs,
  }
}

const runs = []
const load = loadavg()[0]
for (let i = 0; i < Number(values.runs); i++) runs.push(await measure())
const keys = ['signal', 'late', 'exitPath', 'reap', 'overshoot']
const stat = (k) => {
  const v = runs.map((r) => r[k]).sort((a, b) => a - b)
  return { median: v[Math.floor(v.length / 2)], p90: v[Math.floor(v.length * 0.9)], max: v.at(-1) }
}
const summary = Object.fromEntries(keys.map((k) => [k, stat(k)]))
console.log(JSON.stringify({
  node: process.version, timeoutMs, heapMb: Number(values['heap-mb']), runs: runs.length, exitCodes: [...new Set(runs.map((r) => r.code))],
  loadavg1Before: Number(load.toFixed(2)), loadavg1After: Number(loadavg()[0].toFixed(2)), date: new Date().toISOString(),
  ms: Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, Object.fromEntries(Object.entries(s).map(([n, v]) => [n, Number(v.toFixed(1))]))])),
}, null, 2))
