/**
 * The proof of the automatic readiness delay behind a real HAProxy (Debian's
 * package; .ci/run installs it): a rolling restart of three lastcall instances
 * under keep-alive load, with HAProxy's default check timing and with fast
 * checks, both replacement orders. It runs the benchmark script itself, for
 * the `lastcall` variant only (the library's defaults).
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

function haproxyMissing(): string | undefined {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'haproxy is not installed (apt-get install haproxy)'
  }
}

const missing = haproxyMissing()

interface Exit { sigtermToExitMs: number; sigtermToDownMs: number | null; code: number | null }
interface Result { timing: 'default' | 'fast'; order: string; requests: number; failed: number; exits: Exit[]; reports: Array<{ readinessDelay: { durationMs: number; rule: string } }> }

describe.skipIf(missing !== undefined)(`rolling restart behind HAProxy${missing ? ` [SKIPPED: ${missing}]` : ''}`, () => {
  it('fails no request with the defaults, with HAProxy default checks (inter 2s fall 3) and fast checks (inter 500ms fall 1)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lastcall-haproxy-'))
    try {
      const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'run.mjs'), '--variants', 'lastcall', '--connections', '32', '--out', out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)))
      const [code] = await once(child, 'exit')
      expect(code, stderr).toBe(0)
      const results = (JSON.parse(readFileSync(join(out, 'rolling-restart.json'), 'utf8')) as { results: Result[] }).results
      expect(results.map((r) => `${r.timing}/${r.order}`).sort()).toEqual(['default/same-port', 'default/up-first', 'fast/same-port', 'fast/up-first'])
      for (const r of results) {
        expect(r.requests, `${r.timing}/${r.order}`).toBeGreaterThan(1000)
        expect(r.failed, `${r.timing}/${r.order}`).toBe(0)
        for (const exit of r.exits) {
          expect(exit.code).toBe(0)
          // HAProxy marked it down before it stopped listening, and it left soon after:
          // one quiet window (500 ms), the slowest in-flight request (2 s) and the linger.
          expect(exit.sigtermToDownMs).not.toBeNull()
          expect(exit.sigtermToExitMs - exit.sigtermToDownMs!).toBeLessThan(4000)
        }
        for (const report of r.reports) expect(report.readinessDelay.rule).toBe('quiet')
      }
      // Faster checks, shorter delay.
      const delays = (timing: string) => results.filter((r) => r.timing === timing).flatMap((r) => r.reports.map((x) => x.readinessDelay.durationMs))
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      expect(median(delays('fast'))).toBeLessThan(median(delays('default')))
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
