// SVG chart of one variant's scenarios: requests completed per 100 ms (ok in
// green, failed in red, on their own scale), with SIGTERM, HAProxy marking the
// server DOWN, the process exit and the replacement coming UP marked.

const W = 960
const PANEL_H = 150
const LEFT = 60
const RIGHT = 20
const BUCKET_MS = 100

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

const MARKS = /** @type {Record<string, { color: string, dash: string, label: string }>} */ ({
  sigterm: { color: '#e67e00', dash: '', label: 'SIGTERM' },
  down: { color: '#c0392b', dash: '4 3', label: 'HAProxy: DOWN' },
  exit: { color: '#222', dash: '', label: 'exit' },
  up: { color: '#2c7be5', dash: '2 3', label: 'replacement UP' },
})

/**
 * @param {string} variant
 * @param {string} about
 * @param {{ timing: string, order: string, requests: number, failed: number, durationMs: number, records: { end: number, outcome: string }[], events: { t: number, type: string, slot: string }[] }[]} runs
 */
export function renderChart(variant, about, runs) {
  const height = 50 + runs.length * (PANEL_H + 30) + 30
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">Rolling restart behind HAProxy: ${esc(variant)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555">${esc(about)}. Bars: requests completed per ${BUCKET_MS} ms; green ok, red failed (own scale).</text>`,
  ]
  runs.forEach((run, i) => {
    const top = 60 + i * (PANEL_H + 30)
    const span = Math.max(1, run.durationMs)
    const plotW = W - LEFT - RIGHT
    const x = (/** @type {number} */ t) => LEFT + (t / span) * plotW
    const buckets = Math.ceil(span / BUCKET_MS) + 1
    const ok = new Array(buckets).fill(0)
    const bad = new Array(buckets).fill(0)
    for (const r of run.records) {
      const b = Math.min(buckets - 1, Math.floor(r.end / BUCKET_MS))
      if (r.outcome === 'ok') ok[b]++
      else bad[b]++
    }
    const maxOk = Math.max(1, ...ok)
    const maxBad = Math.max(1, ...bad)
    const bw = Math.max(1, (BUCKET_MS / span) * plotW - 0.5)
    const base = top + PANEL_H
    out.push(`<text x="${LEFT}" y="${top - 6}" font-weight="bold">${esc(`${run.timing} checks, ${run.order}`)}: ${run.failed} failed of ${run.requests}</text>`)
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="#fafafa" stroke="#ddd"/>`)
    ok.forEach((n, b) => {
      if (n === 0) return
      const h = (n / maxOk) * (PANEL_H - 10)
      out.push(`<rect x="${x(b * BUCKET_MS).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="#7fbf7f"/>`)
    })
    bad.forEach((n, b) => {
      if (n === 0) return
      const h = Math.max(4, (n / maxBad) * (PANEL_H - 10))
      out.push(`<rect x="${x(b * BUCKET_MS).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${Math.max(2, bw).toFixed(1)}" height="${h.toFixed(1)}" fill="#d62728"><title>${n} failed</title></rect>`)
    })
    for (const e of run.events) {
      const m = MARKS[e.type]
      if (!m) continue
      out.push(`<line x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${top}" y2="${base}" stroke="${m.color}" stroke-width="1.2"${m.dash ? ` stroke-dasharray="${m.dash}"` : ''}><title>${esc(`${m.label} ${e.slot} at ${(e.t / 1000).toFixed(2)} s`)}</title></line>`)
      if (e.type === 'sigterm') out.push(`<text x="${(x(e.t) + 2).toFixed(1)}" y="${top + 11}" fill="${m.color}">${esc(e.slot)}</text>`)
    }
    out.push(`<text x="${LEFT - 6}" y="${top + 10}" text-anchor="end" fill="#4a4">${maxOk}</text>`)
    out.push(`<text x="${LEFT - 6}" y="${top + 24}" text-anchor="end" fill="#d62728">${bad.some((n) => n > 0) ? maxBad : ''}</text>`)
    for (let s = 0; s * 1000 <= span; s += span > 30_000 ? 5 : 2) out.push(`<text x="${x(s * 1000).toFixed(1)}" y="${base + 13}" text-anchor="middle" fill="#777">${s}s</text>`)
  })
  const ly = height - 14
  let lx = LEFT
  for (const m of Object.values(MARKS)) {
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${m.color}" stroke-width="2"${m.dash ? ` stroke-dasharray="${m.dash}"` : ''}/><text x="${lx + 22}" y="${ly}">${m.label}</text>`)
    lx += 150
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/**
 * SVG comparing fixed readiness delays with 'auto' (issue 10): failed requests
 * per rolling restart (mean over runs and orders) and the median SIGTERM → exit,
 * for HAProxy's default checks, fast checks and sparse traffic. Null when the
 * results hold no comparable variant.
 * @param {{ variant: string, load?: string, timing: string, failed: number, exits: { sigtermToExitMs: number | null }[] }[]} results
 * @param {{ auto: string, fixed: { variant: string, ms: number }[] }} which
 */
export function renderDelayChart(results, which) {
  const bars = [...which.fixed.map((f) => ({ variant: f.variant, label: `${f.ms / 1000} s`, color: '#9aa5b1' })), { variant: which.auto, label: 'auto', color: '#2e8b57' }]
  const panels = [
    { load: 'busy', timing: 'default', title: 'busy, default checks (inter 2s fall 3)' },
    { load: 'busy', timing: 'fast', title: 'busy, fast checks (inter 500ms fall 1)' },
    { load: 'sparse', timing: 'default', title: 'sparse, default checks' },
  ].filter((p) => results.some((r) => (r.load ?? 'busy') === p.load && r.timing === p.timing && bars.some((b) => b.variant === r.variant)))
  if (panels.length === 0) return null
  const metrics = [
    { title: 'failed requests per rolling restart (mean)', value: (/** @type {typeof results} */ rs) => (rs.length === 0 ? null : rs.reduce((n, r) => n + r.failed, 0) / rs.length), unit: '' },
    { title: 'SIGTERM → exit, median (s)', value: (/** @type {typeof results} */ rs) => median(rs.flatMap((r) => r.exits.map((e) => e.sigtermToExitMs ?? 0))), unit: 's' },
  ]
  const pw = 290
  const ph = 150
  const gap = 30
  const width = LEFT + panels.length * (pw + gap)
  const height = 70 + metrics.length * (ph + 60) + 10
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">Readiness delay behind HAProxy: fixed (0, 2 s, 5 s) against 'auto'</text>`,
    `<text x="${LEFT}" y="40" fill="#555">Rolling restart of three instances, lastcall core; failed requests are the mean per rolling restart over runs and both orders.</text>`,
  ]
  metrics.forEach((m, mi) => {
    const top = 75 + mi * (ph + 60)
    const values = panels.map((p) => bars.map((b) => m.value(results.filter((r) => r.variant === b.variant && (r.load ?? 'busy') === p.load && r.timing === p.timing))))
    const max = Math.max(1, ...values.flat().map((v) => v ?? 0))
    out.push(`<text x="${LEFT}" y="${top - 10}" font-weight="bold">${esc(m.title)}</text>`)
    panels.forEach((p, pi) => {
      const x0 = LEFT + pi * (pw + gap)
      const base = top + ph
      out.push(`<rect x="${x0}" y="${top}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ddd"/>`)
      out.push(`<text x="${x0 + pw / 2}" y="${base + 30}" text-anchor="middle" fill="#333">${esc(p.title)}</text>`)
      const bw = pw / bars.length
      bars.forEach((b, bi) => {
        const v = values[pi]?.[bi] ?? null
        const cx = x0 + bi * bw + bw / 2
        out.push(`<text x="${cx}" y="${base + 14}" text-anchor="middle" fill="#555">${esc(b.label)}</text>`)
        if (v === null) {
          out.push(`<text x="${cx}" y="${base - 4}" text-anchor="middle" fill="#aaa">n/a</text>`)
          return
        }
        const h = (v / max) * (ph - 22)
        const shown = m.unit === 's' ? (v / 1000).toFixed(1) : v < 10 ? String(Math.round(v * 10) / 10) : String(Math.round(v))
        out.push(`<rect x="${(cx - bw * 0.3).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${(bw * 0.6).toFixed(1)}" height="${Math.max(h, v === 0 ? 0 : 1).toFixed(1)}" fill="${m.unit === '' && v > 0 ? '#d62728' : b.color}"/>`)
        out.push(`<text x="${cx}" y="${(base - h - 4).toFixed(1)}" text-anchor="middle" font-weight="bold">${shown}</text>`)
      })
    })
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** @param {number[]} xs */
function median(xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? /** @type {number} */ (s[m]) : (/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2
}

const PHASE_BANDS = /** @type {Record<string, { color: string, label: string }>} */ ({
  leaving: { color: '#fff3d6', label: 'leaving (readiness failing, still serving)' },
  draining: { color: '#e3eefc', label: 'draining' },
  closing: { color: '#efe3f7', label: 'closing (hooks)' },
})

/**
 * SVG of the demo's timeline (`examples/demo/demo.mjs --timeline`), one panel
 * per run: requests completed per bucket, ok in green and failed in red (own
 * scale, so one failure shows), the report's phases shaded, SIGTERM and the
 * exit marked. The naive run has no report, so no phases.
 * @param {{ framework: string, node: string, options: { duration: number, connections: number }, runs: { label: string, bucketMs: number, sigtermAtMs: number, exitAtMs: number, exitCode: number | null, sent: number, failed: number, phases: { state: string, atMs: number }[], buckets: { atMs: number, ok: number, http503: number, refused: number, failed: number }[] }[] }} data
 */
export function renderShutdownTimeline(data) {
  const height = 56 + data.runs.length * (PANEL_H + 34) + 34
  const span = Math.max(1, ...data.runs.map((r) => r.exitAtMs + r.bucketMs))
  const plotW = W - LEFT - RIGHT
  const x = (/** @type {number} */ t) => LEFT + (t / span) * plotW
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">The demo: SIGTERM under keep-alive load (${esc(data.framework)}, ${data.options.connections} clients, Node ${esc(data.node)})</text>`,
    `<text x="${LEFT}" y="40" fill="#555">Bars: requests completed per ${data.runs[0]?.bucketMs ?? BUCKET_MS} ms; green ok; red failed (reset, cut off, 503) and grey refused, on their own scale. Shaded: the phases lastcall reports.</text>`,
  ]
  data.runs.forEach((run, i) => {
    const top = 66 + i * (PANEL_H + 34)
    const base = top + PANEL_H
    const ok = run.buckets.map((b) => b.ok)
    const bad = run.buckets.map((b) => b.http503 + b.failed)
    const refused = run.buckets.map((b) => b.refused)
    const maxOk = Math.max(1, ...ok)
    const maxBad = Math.max(1, ...bad, ...refused)
    const bw = Math.max(1, (run.bucketMs / span) * plotW - 0.5)
    out.push(`<text x="${LEFT}" y="${top - 6}" font-weight="bold">${esc(run.label)}: ${run.failed} failed of ${run.sent}, exit code ${run.exitCode ?? 'none'}, SIGTERM → exit ${((run.exitAtMs - run.sigtermAtMs) / 1000).toFixed(2)} s</text>`)
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="#fafafa" stroke="#ddd"/>`)
    run.phases.forEach((phase, p) => {
      const band = PHASE_BANDS[phase.state]
      if (!band) return
      const end = run.phases[p + 1]?.atMs ?? run.exitAtMs
      out.push(`<rect x="${x(phase.atMs).toFixed(1)}" y="${top}" width="${Math.max(1.5, x(end) - x(phase.atMs)).toFixed(1)}" height="${PANEL_H}" fill="${band.color}"><title>${esc(`${phase.state} ${((end - phase.atMs) / 1000).toFixed(2)} s`)}</title></rect>`)
      if (x(end) - x(phase.atMs) > 40) out.push(`<text x="${(x(phase.atMs) + 3).toFixed(1)}" y="${top + 24}" fill="#555">${esc(phase.state)}</text>`)
    })
    ok.forEach((n, b) => {
      if (n === 0) return
      const h = (n / maxOk) * (PANEL_H - 30)
      out.push(`<rect x="${x(b * run.bucketMs).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="#7fbf7f"/>`)
    })
    for (const [counts, color, what] of /** @type {const} */ ([[refused, '#999', 'refused (connection refused: never reached a server)'], [bad, '#d62728', 'failed']])) {
      counts.forEach((n, b) => {
        if (n === 0) return
        const h = Math.max(4, (n / maxBad) * (PANEL_H - 30))
        out.push(`<rect x="${x(b * run.bucketMs).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${Math.max(2, bw).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${n} ${what}</title></rect>`)
      })
    }
    for (const [t, type] of /** @type {const} */ ([[run.sigtermAtMs, 'sigterm'], [run.exitAtMs, 'exit']])) {
      const m = /** @type {{ color: string, dash: string, label: string }} */ (MARKS[type])
      out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${base}" stroke="${m.color}" stroke-width="1.5"${m.dash ? ` stroke-dasharray="${m.dash}"` : ''}/>`)
      out.push(`<text x="${(x(t) + 3).toFixed(1)}" y="${top + 11}" fill="${m.color}">${m.label}</text>`)
    }
    out.push(`<text x="${LEFT - 6}" y="${top + 34}" text-anchor="end" fill="#4a4">${maxOk}</text>`)
    out.push(`<text x="${LEFT - 6}" y="${top + 48}" text-anchor="end" fill="${bad.some((n) => n > 0) ? '#d62728' : '#999'}">${[...bad, ...refused].some((n) => n > 0) ? maxBad : ''}</text>`)
    for (let s = 0; s * 1000 <= span; s++) out.push(`<text x="${x(s * 1000).toFixed(1)}" y="${base + 13}" text-anchor="middle" fill="#777">${s}s</text>`)
  })
  const ly = height - 14
  let lx = LEFT
  for (const band of Object.values(PHASE_BANDS)) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="12" fill="${band.color}" stroke="#ccc"/><text x="${lx + 19}" y="${ly}">${esc(band.label)}</text>`)
    lx += 30 + band.label.length * 5.6
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
