import type { ConfigCheckResult } from './checkConfig.js'
import { seconds, type StopTiming } from './findings.js'

function timingLines(t: StopTiming): string[] {
  const delay = t.readinessDelayMinMs === t.readinessDelayMaxMs ? seconds(t.readinessDelayMaxMs) : `${seconds(t.readinessDelayMinMs)}–${seconds(t.readinessDelayMaxMs)}`
  const needs = `${t.beforeSignalMs > 0 ? `preStop ${seconds(t.beforeSignalMs)} + ` : ''}delay ${delay} + drain ${seconds(t.drainTimeoutMs)} + hooks ${seconds(t.hooksMs)} + margin ${seconds(t.marginMs)} = ${seconds(t.neededMs)}`
  const grace = t.gracePeriodMs === null ? 'grace period not set here' : `grace ${seconds(t.gracePeriodMs)} (${t.gracePeriodFrom})`
  const spare = t.gracePeriodMs === null ? '' : t.gracePeriodMs >= t.neededMs ? `, ${seconds(t.gracePeriodMs - t.neededMs)} to spare` : `, ${seconds(t.neededMs - t.gracePeriodMs)} SHORT`
  const lines = [`    ${grace}; ${t.stopSignal}; needs ${needs}${spare}`]
  if (t.probeDetectionMs !== undefined) lines.push(`    readinessProbe detects a failure within ${seconds(t.probeDetectionMs)}; readiness delay ${delay}`)
  return lines
}

/** The human report of `lastcall check --config`. */
export function formatConfigResult(r: ConfigCheckResult): string {
  const lines: string[] = []
  for (const { file, kind } of r.files) {
    lines.push(`${kind.padEnd(10)} ${file}`)
    for (const t of r.timings.filter((t) => t.file === file)) {
      lines.push(`  ${t.where}`, ...timingLines(t))
    }
  }
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  lines.push('', `${r.ok ? 'PASS' : 'FAIL'}  ${count(r.files.length, 'file')}, ${count(r.timings.length, 'workload')}: ${count(r.errors.length, 'error')}, ${count(r.warnings.length, 'warning')}`)
  for (const f of [...r.errors, ...r.warnings]) {
    lines.push(`  ${f.severity === 'error' ? 'x' : '!'} ${f.code}: ${f.file} ${f.where}`, `    ${f.message}`, `    fix: ${f.fix}`)
  }
  return lines.join('\n')
}
