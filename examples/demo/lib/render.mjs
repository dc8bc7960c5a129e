// Terminal output of the demo: the tally, the phase timeline with requests
// completing over time, and a JSON summary. ASCII only, 80 columns.
import { FAILED, OUTCOMES } from './load.mjs'

/** @typedef {import('./load.mjs').Outcome} Outcome */

/** @type {Record<Outcome, string>} */
export const LABELS = {
  ok: 'ok (2xx; SSE ended with final event)',
  http503: '503 Service Unavailable',
  non2xx: 'other non-2xx status',
  resetReused: 'reset on a reused connection',
  resetNew: 'reset on a new connection',
  resetUnknown: 'reset, fetch (reuse not visible)',
  streamCut: 'SSE stream cut, no final event',
  hung: 'hung (no answer within 8 s)',
  other: 'other client error',
  refused: 'refused after close',
}

const WIDTH = 60

/** @param {Record<string, number>} tally */
export function failedCount(tally) {
  let n = 0
  for (const o of FAILED) n += tally[o] ?? 0
  return n
}

/**
 * The tally of one or more runs side by side.
 * @param {{ title: string, tally: Record<string, number>, exitCode: number | null, sigtermToExitMs: number }[]} columns
 */
export function renderTally(columns) {
  const labelWidth = 42
  const colWidth = Math.max(14, ...columns.map((c) => c.title.length + 2))
  const row = (/** @type {string} */ label, /** @type {string[]} */ cells) => `  ${label.padEnd(labelWidth)}${cells.map((c) => c.padStart(colWidth)).join('')}`
  const out = [row('', columns.map((c) => c.title)), row('', columns.map((c) => '-'.repeat(c.title.length)))]
  for (const o of OUTCOMES) {
    if (o === 'refused') continue
    out.push(row(LABELS[o], columns.map((c) => String(c.tally[o] ?? 0))))
  }
  out.push(row('= FAILED in flight', columns.map((c) => String(failedCount(c.tally)))))
  out.push(row('refused after the listener closed *', columns.map((c) => String(c.tally.refused ?? 0))))
  out.push(row('server exit code', columns.map((c) => (c.exitCode === null ? 'killed' : String(c.exitCode)))))
  out.push(row('SIGTERM -> exit', columns.map((c) => `${(c.sigtermToExitMs / 1000).toFixed(2)} s`)))
  out.push('  * new connections after the listener closed: a load balancer would have moved them; not failures.')
  return out.join('\n')
}

/**
 * Which phase a moment (ms after SIGTERM) falls in, from the server's report.
 * @param {any} report
 * @param {number} offset
 */
function phaseAt(report, offset) {
  if (!report) return '~'
  let state = 'leaving'
  for (const step of report.timeline) if (step.offsetMs <= offset) state = step.state
  return { leaving: 'r', draining: 'D', closing: 'C', closed: 'C' }[state] ?? '?'
}

/** @param {number} n */
function digit(n) {
  if (n === 0) return ' '
  return n < 10 ? String(n) : '+'
}

/**
 * The run drawn over time: server phases on top, then completed requests per
 * column as bars, then failed and refused requests per column.
 * @param {{ records: import('./load.mjs').RequestRecord[], sigtermAt: number, exitAt: number, report: any }} run
 */
export function renderTimeline(run) {
  const span = run.exitAt + 100
  const colMs = Math.max(10, Math.ceil(span / WIDTH / 10) * 10)
  const cols = Math.ceil(span / colMs)
  const col = (/** @type {number} */ t) => Math.min(cols - 1, Math.max(0, Math.floor(t / colMs)))
  const ok = new Array(cols).fill(0)
  const failed = new Array(cols).fill(0)
  const refused = new Array(cols).fill(0)
  for (const r of run.records) {
    const c = col(r.end)
    if (r.outcome === 'ok') ok[c]++
    else if (r.outcome === 'refused') refused[c]++
    else failed[c]++
  }
  const phases = []
  for (let c = 0; c < cols; c++) {
    const t = c * colMs
    if (t < run.sigtermAt) phases.push('.')
    else if (t > run.exitAt) phases.push(' ')
    else phases.push(phaseAt(run.report, t - run.sigtermAt))
  }
  // Short phases (cleanup takes a millisecond) still get their column.
  for (const step of run.report?.timeline ?? []) {
    const letter = { leaving: 'r', draining: 'D', closing: 'C' }[/** @type {string} */ (step.state)]
    if (letter) phases[col(run.sigtermAt + step.offsetMs)] = letter
  }
  phases[col(run.sigtermAt)] = 'T'
  phases[col(run.exitAt)] = 'X'

  const label = (/** @type {string} */ s) => `  ${s.padEnd(10)}`
  const lines = [`  one column = ${colMs} ms; T = SIGTERM, X = process exit`]
  // Time axis: ticks every second relative to SIGTERM.
  const axis = new Array(cols).fill(' ')
  const ticks = new Array(cols).fill('-')
  const firstSecond = Math.ceil(-run.sigtermAt / 1000)
  for (let s = firstSecond; run.sigtermAt + s * 1000 <= span; s++) {
    const c = col(run.sigtermAt + s * 1000)
    ticks[c] = '+'
    const text = s === 0 ? '0s' : `${s > 0 ? '+' : ''}${s}s`
    if (axis.slice(c, c + text.length + 1).every((x) => x === ' ')) for (let i = 0; i < text.length && c + i < cols; i++) axis[c + i] = text[i]
  }
  lines.push(label('') + axis.join(''))
  lines.push(label('') + ticks.join(''))
  lines.push(label('server') + phases.join(''))
  const max = Math.max(1, ...ok)
  const height = 4
  for (let h = height; h >= 1; h--) {
    const row = ok.map((n) => (Math.ceil((n / max) * height) >= h ? '#' : ' ')).join('')
    lines.push(label(h === height ? `ok (${max})` : h === 1 ? 'ok' : '') + row)
  }
  lines.push(label('FAILED') + failed.map(digit).join(''))
  lines.push(label('refused') + refused.map(digit).join(''))
  lines.push(`  server: . serving  r readiness delay (readiness 503, still serving)  D drain  C cleanup`)
  lines.push('  ok: completed requests per column, bars scaled to the busiest column; FAILED/refused: count per column (+ = 10 or more)')
  return lines.join('\n')
}

/**
 * @param {any} report
 */
export function renderPhases(report) {
  if (!report) return '  (no lastcall report: this server has none)'
  const at = (/** @type {string} */ s) => report.timeline.find((/** @type {any} */ t) => t.state === s)?.offsetMs
  const draining = at('draining') ?? 0
  const closing = at('closing') ?? draining
  const closed = at('closed') ?? closing
  const r = report.requests
  const c = report.connections
  return [
    `  readiness delay  ${fmt(0)} -> ${fmt(draining)}  readiness answers 503, everything else is served (${report.readinessDelay.rule})`,
    `  drain            ${fmt(draining)} -> ${fmt(closing)}  listener closed; ${r.inFlightAtDrain} in flight, ${c.openAtDrain} connections open`,
    `  cleanup          ${fmt(closing)} -> ${fmt(closed)}  ${report.hooks.length} hooks`,
    `  exit code        ${report.exitCode}${report.timedOut ? ' (timed out)' : ''}`,
    `  requests after SIGTERM: ${r.completed} completed, ${r.rejected} rejected, ${r.aborted} aborted by client, ${r.forced} cut off`,
    `  connections at drain:   ${c.closedAfterResponse} closed after their response, ${c.closedIdle} idle, ${c.closedByClient} by client, ${c.forced} forced`,
  ].join('\n')
}

/** @param {number} ms */
function fmt(ms) {
  return `${String(ms).padStart(5)} ms`
}

/**
 * A run's timeline as data, for a chart (bench/demo-timeline.mjs): requests
 * completed per `bucketMs` by outcome (ok, 503, refused, failed otherwise), the
 * phases the report names, SIGTERM and exit, every time in ms from the load's
 * start.
 * @param {{ records: { end: number, outcome: string }[], sigtermAt: number, exitAt: number, exit: { code?: number | null }, report?: any, sent: number, tally: Record<string, number> }} run
 */
export function timelineData(run, bucketMs = 100) {
  const count = Math.ceil((run.exitAt + bucketMs) / bucketMs)
  const buckets = Array.from({ length: count }, (_, i) => ({ atMs: i * bucketMs, ok: 0, http503: 0, refused: 0, failed: 0 }))
  for (const r of run.records) {
    const b = /** @type {typeof buckets[number]} */ (buckets[Math.min(count - 1, Math.max(0, Math.floor(r.end / bucketMs)))])
    if (r.outcome === 'ok') b.ok++
    else if (r.outcome === 'http503') b.http503++
    else if (r.outcome === 'refused') b.refused++
    else b.failed++
  }
  const phases = (run.report?.timeline ?? []).map((/** @type {{ state: string, offsetMs: number }} */ step) => ({ state: step.state, atMs: Math.round(run.sigtermAt + step.offsetMs) }))
  return { bucketMs, sigtermAtMs: Math.round(run.sigtermAt), exitAtMs: Math.round(run.exitAt), exitCode: run.exit.code ?? null, sent: run.sent, failed: failedCount(run.tally), phases, buckets }
}
