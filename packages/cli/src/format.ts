import type { OutcomeKind } from '@lastcall/testing'
import type { CheckResult, Progress } from './result.js'

const LABELS: Record<OutcomeKind, string> = {
  completed: 'completed',
  rejected: '503 (rejected)',
  'reset-reused': 'reset, reused conn',
  'reset-new': 'reset, new conn',
  refused: 'refused',
  hung: 'hung',
}

const ms = (value: number | null): string => (value === null ? 'never' : `${value} ms`)

/** The human report printed at the end of `lastcall check`. */
export function formatResult(r: CheckResult): string {
  const lines: string[] = []
  lines.push(`lastcall check: ${r.command.join(' ')}`)
  if (r.startupMs !== null) {
    const how = `${r.readiness.endpoint ? `${r.readiness.path} passed` : `no readiness endpoint, ${r.readiness.path} answered`}${r.http2 ? ' over h2c' : ''}`
    lines.push(`  app pid ${r.pid} on 127.0.0.1:${r.port}, ready after ${r.startupMs} ms (${how})`)
  }
  if (r.sigtermAtMs !== null) lines.push(`  SIGTERM sent ${r.sigtermAtMs} ms into the check`)
  if (r.requests.total > 0) {
    lines.push('', `  requests              total  ended after SIGTERM`)
    for (const kind of Object.keys(LABELS) as OutcomeKind[]) {
      const total = r.requests.byKind[kind]
      if (total === 0 && kind !== 'completed') continue
      lines.push(`    ${LABELS[kind].padEnd(19)} ${String(total).padStart(6)}  ${String(r.requests.afterSigterm[kind]).padStart(6)}`)
    }
    const statuses = Object.entries(r.requests.statuses).map(([s, n]) => `${s} x${n}`).join(', ')
    if (statuses) lines.push(`    statuses: ${statuses}`)
  }
  if (r.http2 && !r.http2.error) {
    const h = r.http2
    const count = (k: Record<OutcomeKind, number>): string => `${k.completed} completed, ${k.rejected} rejected, ${k['reset-reused'] + k['reset-new']} reset, ${k.refused} refused, ${k.hung} hung`
    lines.push(`  http/2 streams: ${count(h.byKind)}; ${h.sessions} session${h.sessions === 1 ? '' : 's'}${h.http1 ? '' : ' (the app does not speak HTTP/1.1)'}`)
    if (h.goaway) lines.push(`    GOAWAY ${h.goawayAfterMs === null ? 'before SIGTERM' : `${h.goawayAfterMs} ms after SIGTERM`}; after it: ${count(h.afterGoaway)}`)
    else if (r.sigtermAtMs !== null) lines.push('    no GOAWAY received')
  }
  if (r.ws && !r.ws.error) lines.push(`  websocket: ${r.ws.closeCode === null ? 'still open' : `closed with ${r.ws.closeCode}${r.ws.reason ? ` (${r.ws.reason})` : ''}`}`)
  if (r.sigtermAtMs !== null) {
    lines.push('')
    if (r.readiness.endpoint) {
      const order = r.readiness.failedBeforeClose ? 'before the listener closed' : 'NOT before the listener closed'
      lines.push(`  readiness failed:     ${ms(r.readiness.failedAfterMs)} after SIGTERM (${order})`)
    } else {
      lines.push('  readiness failed:     no readiness endpoint')
    }
    lines.push(`  listener closed:      ${ms(r.readiness.listenerClosedAfterMs)} after SIGTERM`)
    const how = r.exit.killed ? 'SIGKILLed at the bound' : r.exit.signal ? `killed by ${r.exit.signal}` : `exit code ${r.exit.code}`
    lines.push(`  exited:               ${ms(r.exit.afterMs)} after SIGTERM, ${how}`)
  }
  lines.push('')
  lines.push(r.ok ? `PASS  the app drained cleanly (${r.durationMs} ms)` : `FAIL  ${r.failures.length} problem${r.failures.length === 1 ? '' : 's'} (${r.durationMs} ms)`)
  for (const f of r.failures) lines.push(`  x ${f.code}: ${f.message}`, `    fix: ${f.fix}`)
  for (const w of r.warnings) lines.push(`  ! ${w.code}: ${w.message}`, `    fix: ${w.fix}`)
  if (!r.ok && r.stderrTail.length > 0) lines.push('', '  app stderr (last lines):', ...r.stderrTail.map((l) => `    ${l}`))
  return lines.join('\n')
}

/**
 * Progress on stderr: one live line redrawn in place on a terminal (at most
 * every 100 ms), a plain line per step otherwise.
 */
export function progressWriter(stream: NodeJS.WriteStream): (p: Progress) => void {
  const tty = stream.isTTY === true
  let lastDraw = 0
  return (p) => {
    const c = p.counts
    const counts = `completed ${c.completed}  503 ${c.rejected}  reset ${c['reset-reused']}+${c['reset-new']}  refused ${c.refused}  hung ${c.hung}`
    const time = `${(p.atMs / 1000).toFixed(1).padStart(5)}s`
    if (tty) {
      const now = performance.now()
      if (p.phase === 'loading' && p.note === undefined && now - lastDraw < 100) return
      lastDraw = now
      if (p.phase !== 'loading' || p.note !== undefined) stream.write(`\r\x1b[K[${time}] ${p.phase}${p.note ? `: ${p.note}` : ''}\n`)
      if (p.phase === 'done') return
      stream.write(`\r\x1b[K[${time}] ${counts}`)
      return
    }
    if (p.phase === 'loading' && p.note === undefined) return
    stream.write(`[${time}] ${p.phase}${p.note ? `: ${p.note}` : ''}${p.phase === 'load-stopped' || p.phase === 'done' ? ` (${counts})` : ''}\n`)
  }
}
