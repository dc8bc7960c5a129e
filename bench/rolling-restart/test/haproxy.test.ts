/**
 * The proof of the automatic readiness delay behind a real HAProxy (Debian's
 * package; .ci/run installs it): a rolling restart of three lastcall instances
 * under keep-alive load, with HAProxy's default check timing and with fast
 * checks, both replacement orders. It runs the benchmark script itself, for
 * the `lastcall` variant (the library's defaults); then the Hono and NestJS
 * adapters' defaults, one quick scenario each. The last test is issue 10's
 * sparse traffic (8 clients, one request every 2-3 s each).
 */
import { describe, expect, it } from 'vitest'
import { bench, expectNoneFailed, haproxyMissing } from './haproxy.js'

const missing = haproxyMissing()

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

  it('fails no request with @lastcall/hono and @lastcall/nestjs defaults (one quick run each: fast checks, same-port order)', async () => {
    const results = await bench(['--variants', 'lastcall-hono,lastcall-nestjs', '--quick', '--connections', '32'])
    expect(results.map((r) => `${r.variant}/${r.timing}/${r.order}`)).toEqual(['lastcall-hono/fast/same-port', 'lastcall-nestjs/fast/same-port'])
    for (const r of results) {
      expect(r.requests, r.variant).toBeGreaterThan(1000)
      expect(r.failed, r.variant).toBe(0)
      expect(r.exits, r.variant).toHaveLength(3)
      for (const exit of r.exits) {
        expect(exit.code, r.variant).toBe(0)
        // HAProxy marked it down before it stopped listening.
        expect(exit.sigtermToDownMs, r.variant).not.toBeNull()
        expect(exit.sigtermToDownMs!, r.variant).toBeLessThan(exit.sigtermToExitMs)
      }
      for (const report of r.reports) expect(report.readinessDelay.rule, r.variant).toBe('quiet')
    }
  })

  it('fails no request under sparse traffic (a request every 2-3 s per client) with the defaults and HAProxy default checks', async () => {
    const results = await bench(['--load', 'sparse', '--variants', 'lastcall', '--orders', 'same-port'])
    expect(results.map((r) => `${r.load}/${r.timing}/${r.order}`)).toEqual(['sparse/default/same-port'])
    const [r] = results
    expectNoneFailed(r!, 50)
    for (const report of r!.reports) expect(['quiet', 'max']).toContain(report.readinessDelay.rule)
  })
})
