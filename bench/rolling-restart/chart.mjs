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
