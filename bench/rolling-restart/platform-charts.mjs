// Charts of the platform benchmarks from their JSON results, with the overhead
// benchmark's SVG helpers:
//   node bench/rolling-restart/platform-charts.mjs
// reads docs/bench/same-port-restart.json and docs/bench/pm2-reload.json (written
// by same-port.mjs and pm2.mjs) and writes docs/bench/same-port-restart.svg and
// docs/bench/pm2-reload.svg. Each chart shows, per variant, the failed requests
// split by how they failed (reset on a reused connection, reset on a new one,
// refused, hung or other) and the restart time.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chart, stack } from '../overhead/svg.mjs'

const docs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'bench')

const KINDS = [
  { label: 'reset, reused connection', color: '#d62728', match: (k) => /RESET.*reused/i.test(k) },
  { label: 'reset, new connection', color: '#ff7f0e', match: (k) => /RESET.*new/i.test(k) },
  { label: 'refused (nothing sent)', color: '#9ecae1', match: (k) => /REFUSED/i.test(k) },
  { label: 'hung or other', color: '#7f7f7f', match: () => true },
]

/** The failed requests of one result, split into KINDS (every outcome but `ok`). */
function segments(outcomes) {
  const sums = KINDS.map(() => 0)
  for (const [kind, n] of Object.entries(outcomes)) {
    if (kind === 'ok') continue
    sums[KINDS.findIndex((k) => k.match(kind))] += n
  }
  return KINDS.map((k, i) => ({ value: sums[i], color: k.color, title: `${k.label}: ${sums[i]}` }))
}

function failedChart(title, subtitle, results) {
  const rows = results.map((r) => ({
    label: r.label,
    segments: segments(r.outcomes),
    value: r.failed,
    text: `${r.failed.toLocaleString('en-US')} of ${r.requests.toLocaleString('en-US')}`,
  }))
  const max = Math.max(1, ...rows.map((r) => r.value))
  return chart({ title, subtitle, rows, min: 0, max, legend: KINDS, format: (v) => Math.round(v).toLocaleString('en-US'), right: 130 })
}

function timeChart(title, results) {
  const rows = results.map((r) => ({ label: r.label, value: r.ms, color: '#4c78a8' }))
  const max = Math.max(1, ...rows.map((r) => r.value))
  return chart({ title, rows, min: 0, max, unit: ' s', format: (v) => (v / 1000).toFixed(1), right: 130 })
}

const samePortFile = join(docs, 'same-port-restart.json')
if (existsSync(samePortFile)) {
  const data = JSON.parse(readFileSync(samePortFile, 'utf8'))
  const results = data.results.map((r) => ({ ...r, label: r.mechanism, ms: r.restartMedianMs }))
  const { connections, restarts } = data.settings
  const svg = stack([
    failedChart('Same-port restarts, no balancer: failed requests', `${restarts} restarts each, ${connections} keep-alive clients straight at the port, ${data.machine.node}, ${data.date.slice(0, 10)}`, results),
    timeChart('Restart time (median): stop to the replacement listening', results),
  ])
  writeFileSync(join(docs, 'same-port-restart.svg'), svg)
  console.log('wrote docs/bench/same-port-restart.svg')
}

const pm2File = join(docs, 'pm2-reload.json')
if (existsSync(pm2File)) {
  const data = JSON.parse(readFileSync(pm2File, 'utf8'))
  const results = data.results.map((r) => ({ ...r, label: r.variant, ms: r.reloadsMs.reduce((a, b) => a + b, 0) / r.reloadsMs.length }))
  const svg = stack([
    failedChart("pm2 reload, PM2's defaults: failed requests", `cluster mode, 2 instances, ${data.settings.reloads} reloads, ${data.settings.connections} keep-alive clients, ${data.node}, ${data.date.slice(0, 10)}`, results),
    timeChart('pm2 reload time (mean of the reloads)', results),
  ])
  writeFileSync(join(docs, 'pm2-reload.svg'), svg)
  console.log('wrote docs/bench/pm2-reload.svg')
}
