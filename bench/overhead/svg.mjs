// Hand-written SVG charts (no dependencies): bars with interval whiskers.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * Horizontal bars, one per row: `value` with an optional [low, high]
 * whisker. `refs` are vertical reference lines ({ at, label }).
 */
export function barChart(options) {
  return chart(options).svg
}

/**
 * The same, returning its size too. A row may have `segments` (consecutive
 * { value, color } pieces from `from`) instead of one bar; `legend` lists
 * { label, color } under the title.
 */
export function chart({ title, subtitle, rows, min, max, unit = '', refs = [], format = (v) => String(v), width = 760, legend = [], left = 250, right = 90, ticks }) {
  const top = (subtitle ? 64 : 48) + (legend.length > 0 ? 22 : 0)
  const rowH = 34
  const plotW = width - left - right
  const height = top + rows.length * rowH + 44
  const x = (v) => left + ((Math.min(Math.max(v, min), max) - min) / (max - min)) * plotW
  const out = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`)
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`)
  out.push(`<text x="16" y="24" font-size="16" font-weight="600">${esc(title)}</text>`)
  if (subtitle) out.push(`<text x="16" y="44" fill="#555">${esc(subtitle)}</text>`)
  let lx = 16
  for (const item of legend) {
    const ly = (subtitle ? 44 : 24) + 20
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${item.color}"/>`)
    out.push(`<text x="${lx + 17}" y="${ly}" fill="#333" font-size="12">${esc(item.label)}</text>`)
    lx += 30 + item.label.length * 6.6
  }
  // Axis with five ticks.
  const axisY = top + rows.length * rowH + 6
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#999"/>`)
  for (const v of ticks ?? [0, 1, 2, 3, 4].map((i) => min + ((max - min) * i) / 4)) {
    out.push(`<line x1="${x(v)}" y1="${axisY}" x2="${x(v)}" y2="${axisY + 4}" stroke="#999"/>`)
    out.push(`<text x="${x(v)}" y="${axisY + 18}" text-anchor="middle" fill="#555">${esc(format(v))}${esc(unit)}</text>`)
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH
    const cy = y + rowH / 2
    out.push(`<text x="${left - 10}" y="${cy + 4}" text-anchor="end">${esc(row.label)}</text>`)
    const from = row.from ?? min
    if (row.segments) {
      let at = from
      for (const seg of row.segments) {
        if (seg.value <= 0) continue
        out.push(`<rect x="${x(at)}" y="${y + 7}" width="${Math.max(1, x(at + seg.value) - x(at))}" height="${rowH - 14}" fill="${seg.color}"><title>${esc(seg.title ?? '')}</title></rect>`)
        at += seg.value
      }
    } else {
      const x0 = Math.min(x(from), x(row.value))
      out.push(`<rect x="${x0}" y="${y + 7}" width="${Math.max(1, Math.abs(x(row.value) - x(from)))}" height="${rowH - 14}" fill="${row.color ?? '#4c78a8'}" opacity="0.85"/>`)
    }
    if (row.low !== undefined && row.high !== undefined) {
      out.push(`<line x1="${x(row.low)}" y1="${cy}" x2="${x(row.high)}" y2="${cy}" stroke="#222" stroke-width="1.5"/>`)
      for (const v of [row.low, row.high]) out.push(`<line x1="${x(v)}" y1="${cy - 7}" x2="${x(v)}" y2="${cy + 7}" stroke="#222" stroke-width="1.5"/>`)
    }
    out.push(`<text x="${left + plotW + 8}" y="${cy + 4}" fill="#222">${esc(row.text ?? format(row.value) + unit)}</text>`)
  })
  for (const ref of refs) {
    out.push(`<line x1="${x(ref.at)}" y1="${top - 4}" x2="${x(ref.at)}" y2="${axisY}" stroke="${ref.color ?? '#c00'}" stroke-dasharray="4 3"/>`)
    const shift = ref.anchor === 'start' ? 3 : ref.anchor === 'end' ? -3 : 0
    out.push(`<text x="${x(ref.at) + shift}" y="${top - 8}" text-anchor="${ref.anchor ?? 'middle'}" fill="${ref.color ?? '#c00'}" font-size="11">${esc(ref.label)}</text>`)
  }
  out.push('</svg>')
  return { svg: `${out.join('\n')}\n`, width, height }
}

/** Stacks standalone charts from `chart()` vertically in one SVG. */
export function stack(parts) {
  const width = Math.max(...parts.map((p) => p.width))
  const height = parts.reduce((h, p) => h + p.height, 0)
  let y = 0
  const body = parts.map((p) => {
    const g = `<g transform="translate(0 ${y})">\n${p.svg}</g>`
    y += p.height
    return g
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${body.join('\n')}\n</svg>\n`
}
