/**
 * What the HAProxy rolling-restart tests share: whether HAProxy is here,
 * running the benchmark script (bench/rolling-restart/run.mjs) to its results,
 * and the one quick run on Bun or Deno (haproxy.bun.test.ts, haproxy.deno.test.ts).
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

export function haproxyMissing(): string | undefined {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'haproxy is not installed (apt-get install haproxy)'
  }
}

export interface Exit { sigtermToExitMs: number; sigtermToDownMs: number | null; code: number | null; killed: boolean }

/** Runs the benchmark script with `args`; resolves with its results. */
export async function bench(args: string[]): Promise<Result[]> {
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

export interface Result { variant: string; load: 'busy' | 'sparse'; timing: 'default' | 'fast'; order: string; requests: number; failed: number; outcomes?: unknown; firstFailures?: unknown; failedBeforeFirstSigterm?: number; exits: Exit[]; reports: Array<{ exitCode: number; readinessDelay: { durationMs: number; rule: string } }> }

/**
 * One run of three instances replaced in turn: more than `minRequests`, none
 * failed, and each instance kept serving until HAProxy had taken it out, then
 * left by itself with exit code 0.
 */
export function expectNoneFailed(r: Result, minRequests: number): void {
  expect(r.requests).toBeGreaterThan(minRequests)
  // On failure, say how and when requests failed (before any SIGTERM means the machine, not the restart).
  expect(r.failed, JSON.stringify({ outcomes: r.outcomes, failedBeforeFirstSigterm: r.failedBeforeFirstSigterm, firstFailures: r.firstFailures })).toBe(0)
  expect(r.exits).toHaveLength(3)
  for (const exit of r.exits) {
    expect(exit.code).toBe(0)
    expect(exit.killed).toBe(false)
    expect(exit.sigtermToDownMs).not.toBeNull()
    expect(exit.sigtermToDownMs!).toBeLessThan(exit.sigtermToExitMs)
  }
}

/** Why `runtime` cannot run here (scripts/runtime.sh's message), or undefined when it can. */
function runtimeMissing(runtime: 'bun' | 'deno'): string | undefined {
  try {
    execFileSync(join(import.meta.dirname, '..', '..', '..', 'scripts', 'runtime.sh'), [runtime], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 })
    return undefined
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim()
    return `${runtime} unavailable: ${stderr.split('\n').at(-1) || (error as Error).message}`
  }
}

/**
 * The rolling restart with the instances on Bun or Deno (`node:http` and
 * @lastcall/core, the `lastcall` variant, or another: `lastcall-deno-serve`
 * is Deno.serve under @lastcall/deno): one quick run, fast checks, the
 * same-port order, 32 keep-alive clients. Not a file of the Node majors' CI
 * runs (they leave out *.bun and *.deno test files): it runs once, on Node 20.
 */
export function rollingRestartOn(runtime: 'bun' | 'deno', variant = 'lastcall'): void {
  const missing = haproxyMissing() ?? runtimeMissing(runtime)
  describe.skipIf(missing !== undefined)(`rolling restart behind HAProxy, instances on ${runtime}${variant === 'lastcall' ? '' : ` (${variant})`}${missing ? ` [SKIPPED: ${missing}]` : ''}`, () => {
    it('fails no request: each instance taken out by HAProxy before it stops listening, exit 0', async () => {
      const results = await bench(['--variants', variant, '--quick', '--runtime', runtime, '--connections', '32'])
      expect(results.map((r) => `${r.timing}/${r.order}`)).toEqual(['fast/same-port'])
      const [r] = results
      expectNoneFailed(r!, 500)
      // Each instance's own lastcall report: a clean shutdown.
      expect(r!.reports.map((report) => report.exitCode)).toEqual([0, 0, 0])
    })
  })
}
