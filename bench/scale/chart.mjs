// The scale benchmark's SVG: SIGTERM → exit per scenario as stacked bars
// (the median trial's phases), and heap per connection as bars.
import { median } from '../overhead/stats.mjs'
import { chart, stack } from '../overhead/svg.mjs'

const COLORS = { signal: '#bab0ac', work: '#f2cf5b', linger: '#9ecae9', closing: '#4c78a8', exit: '#e45756' }

/** The trial whose SIGTERM → exit is the median one (the lower middle for even counts). */
function medianTrial(trials) {
  const sorted = [...trials].sort((a, b) => a.sigtermToExitMs - b.sigtermToExitMs)
  return sorted[(sorted.length - 1) >> 1]
}

export function scaleChart(result) {
  const m = result.machine
  const parts = []
  const rows = result.scenarios.flatMap((s) =>
    ['lastcall', 'floor'].map((variant) => {
      const v = s[variant]
      const t = medianTrial(v.trials)
      const toDrain = t.signalDeliveryMs + t.signalToDrainMs
      const waited = t.sigtermToExitMs - toDrain - t.exitAfterLaterOfMs
      const segments = [{ value: toDrain, color: COLORS.signal, title: `signal → drain ${toDrain.toFixed(1)} ms` }]
      if (s.idleConnections > 0 && s.inFlight === 0) {
        const linger = Math.min(t.idleLingerMs, waited)
        segments.push({ value: linger, color: COLORS.linger, title: `idle linger ${linger} ms` })
        segments.push({ value: waited - linger, color: COLORS.closing, title: `closing idle sockets ${(waited - linger).toFixed(1)} ms` })
      } else {
        segments.push({ value: waited, color: COLORS.work, title: `waiting for in-flight responses ${waited.toFixed(1)} ms` })
      }
      segments.push({ value: t.exitAfterLaterOfMs, color: COLORS.exit, title: `exit after the later of last response and idle sockets closed ${t.exitAfterLaterOfMs} ms` })
      const what = s.inFlight > 0 ? (s.idleConnections ? `${s.inFlight}×${s.inFlightMs} ms + ${s.idleConnections.toLocaleString('en')} idle` : `${s.inFlight}×${s.inFlightMs} ms in flight`) : `${s.idleConnections.toLocaleString('en')} idle`
      return {
        label: `${what} · ${variant === 'floor' ? 'floor' : 'lastcall'}`,
        value: t.sigtermToExitMs,
        segments,
        text: `${v.sigtermToExitMs.median} ms (exit +${v.exitAfterLaterOfMs.median})`,
      }
    }),
  )
  const max = Math.ceil(Math.max(...rows.map((r) => r.value), 100) / 100) * 100
  parts.push(
    chart({
      title: 'lastcall shutdown: SIGTERM → process exit (node:http, readinessDelayMs 0)',
      subtitle: `text: median of ${result.config.repeat} runs; bars: the median run's phases · floor: bare server.close(), no linger · ${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
      rows,
      min: 0,
      max,
      unit: ' ms',
      format: (v) => String(Math.round(v)),
      width: 900,
      left: 270,
      right: 200,
      legend: [
        { label: 'signal → drain', color: COLORS.signal },
        { label: `idle linger (${result.config.idleLingerMs} ms, by design)`, color: COLORS.linger },
        { label: 'closing idle sockets', color: COLORS.closing },
        { label: 'in-flight requests', color: COLORS.work },
        { label: 'exit after last of them', color: COLORS.exit },
      ],
    }),
  )
  if (result.heap) {
    const h = result.heap
    const rowsHeap = [
      { label: 'bare node:http', value: h.bareBytesPerConnection, color: '#9d9d9d', text: `${Math.round(h.bareBytesPerConnection)} B` },
      { label: 'with lastcall attached', value: h.lastcallBytesPerConnection, color: '#4c78a8', text: `${Math.round(h.lastcallBytesPerConnection)} B` },
      { label: 'tracked, beyond bare', value: Math.max(0, h.trackedBytesPerConnection), color: '#e45756', text: `${Math.round(h.trackedBytesPerConnection)} B (target ≤ 400)` },
    ]
    const top = Math.max(...rowsHeap.map((r) => r.value), 400)
    parts.push(
      chart({
        title: 'Heap per idle keep-alive connection',
        subtitle: `heapUsed after full GCs, slope between 1,000 and 10,000 connections, median of ${median([h.runs.bare.length, h.runs.lastcall.length])} runs each`,
        rows: rowsHeap,
        min: 0,
        max: Math.ceil(top / 500) * 500,
        unit: ' B',
        format: (v) => String(Math.round(v)),
        width: 900,
        left: 270,
        right: 200,
        refs: [{ at: 400, label: '400 B', color: '#c00' }],
      }),
    )
  }
  return stack(parts)
}
