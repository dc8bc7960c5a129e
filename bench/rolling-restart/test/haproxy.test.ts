/**
 * The proof of the automatic readiness delay behind a real HAProxy (Debian's
 * package; .ci/run installs it): a rolling restart of three lastcall instances
 * under keep-alive load, with HAProxy's default check timing and with fast
 * checks, both replacement orders. It runs the benchmark script itself, for
 * the `lastcall` variant only (the library's defaults). The second test is
 * issue 10's sparse traffic (8 clients, one request every 2-3 s each).
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

interface Exit { sigtermToExitMs: number; sigtermToDownMs: number | null; code: number | null; killed: boolean }

/** Runs the benchmark script with `args`; resolves with its results. */
async function bench(args: string[]): Promise<Result[]> {
  const out = mkdtempSync(join(tmpdir(), 'lastcall-haproxy-'))
  try {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'run.mjs'), ...args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)))
    const [code] = await once(child, 'exit')
    expect(code, stderr).toBe(0)
    return (JSON.parse(readFileSync(join(out, 'rolling-restart.json'), 'utf8')) as { results: Result[] }).results
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

interface Result { load: 'busy' | 'sparse'; timing: 'default' | 'fast'; order: string; requests: number; failed: number; exits: Exit[]; reports: Array<{ readinessDelay: { durationMs: number; rule: string } }> }

describe.skipIf(missing !== undefined)(`rolling restart behind HAProxy${missing ? ` [SKIPPED: ${missing}]` : ''}`, () => {
  it('fails no request with the defaults, with HAProxy default checks (inter 2s fall 3) and fast checks (inter 500ms fall 1)', async () => {
    const results = await bench(['--variants', 'lastcall', '--connections', '32'])
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
  })

  it('fails no request under sparse traffic (a request every 2-3 s per client) with the defaults and HAProxy default checks', async () => {
    const results = await bench(['--load', 'sparse', '--variants', 'lastcall', '--orders', 'same-port'])
    expect(results.map((r) => `${r.load}/${r.timing}/${r.order}`)).toEqual(['sparse/default/same-port'])
    const [r] = results
    expect(r!.requests).toBeGreaterThan(50)
    expect(r!.failed).toBe(0)
    expect(r!.exits).toHaveLength(3)
    for (const exit of r!.exits) {
      expect(exit.code).toBe(0)
      expect(exit.killed).toBe(false)
      // It kept serving until HAProxy had taken it out, then left.
      expect(exit.sigtermToDownMs).not.toBeNull()
      expect(exit.sigtermToDownMs!).toBeLessThan(exit.sigtermToExitMs)
    }
    for (const report of r!.reports) expect(['quiet', 'max']).toContain(report.readinessDelay.rule)
  })
})
