import { describe, expect, it } from 'vitest'
import type { ConnectionCounts, RequestCounts } from '../src/http/trackerTypes.js'
import { buildReport, formatReport, type Counted } from '../src/shutdown/report.js'

function counted(overrides: Partial<Counted> = {}): Counted {
  const requests: RequestCounts = { inFlightAtDrain: 2, arrivedDuringShutdown: 3, completed: 5, rejected: 0, aborted: 0, forced: 0, timedOut: 0 }
  const connections: ConnectionCounts = { openAtDrain: 4, closedIdle: 2, closedAfterResponse: 2, closedByClient: 0, forced: 0, byKind: { http1: 4, h2: 0, upgraded: 0 } }
  return {
    trigger: { type: 'signal', signal: 'SIGTERM' },
    startedAt: new Date('2026-01-01T00:00:00.000Z'),
    durationMs: 312,
    timeline: [{ state: 'leaving', at: '2026-01-01T00:00:00.000Z', offsetMs: 0 }],
    readinessDelay: { durationMs: 0, rule: 'none' },
    requests,
    connections,
    hooks: [{ name: 'pg', phase: 'stores', startMs: 300, durationMs: 10, outcome: 'ok' }],
    end: 'done',
    pending: [],
    crash: undefined,
    ...overrides,
  }
}

describe('buildReport', () => {
  it('reports a shutdown that finished everything in time with exit code 0 and no second signal or crash', () => {
    const report = buildReport(counted())
    expect(report).toMatchObject({ startedAt: '2026-01-01T00:00:00.000Z', durationMs: 312, timedOut: false, pending: [], exitCode: 0 })
    expect(report).not.toHaveProperty('secondSignal')
    expect(report).not.toHaveProperty('crash')
  })

  it('copies the counts, so counting on after the report does not change it', () => {
    const input = counted()
    const report = buildReport(input)
    input.requests.completed = 99
    input.connections.byKind.http1 = 99
    expect(report.requests.completed).toBe(5)
    expect(report.connections.byKind.http1).toBe(4)
  })

  it('exits 1 when a hook did not succeed, something was forced, the shutdown timed out, the trigger was an error or a crash was seen', () => {
    const base = counted()
    const cases: Partial<Counted>[] = [
      { hooks: [{ name: 'pg', phase: 'stores', startMs: 0, durationMs: 5000, outcome: 'timeout', error: 'late' }] },
      { hooks: [{ name: 'pg', phase: 'stores', startMs: 0, durationMs: 1, outcome: 'error', error: 'boom' }] },
      { hooks: [{ name: 'pg', phase: 'stores', startMs: 0, durationMs: 1, outcome: 'pending' }] },
      { requests: { ...base.requests, forced: 1 } },
      { connections: { ...base.connections, forced: 1 } },
      { end: 'timeout' },
      { trigger: { type: 'error', reason: 'uncaughtException' } },
      { crash: { kind: 'uncaughtException', error: 'boom' } },
    ]
    expect(cases.map((c) => buildReport(counted(c)).exitCode)).toEqual([1, 1, 1, 1, 1, 1, 1, 1])
    expect(buildReport(counted({ end: 'timeout' })).timedOut).toBe(true)
    expect(buildReport(counted({ crash: { kind: 'uncaughtException', error: 'boom' } })).crash).toEqual({ kind: 'uncaughtException', error: 'boom' })
  })

  it('exits with the code a second signal gave, whatever else happened, and names that signal', () => {
    const report = buildReport(counted({ end: { cut: 'SIGINT', code: 130 }, pending: ['hook pg'], connections: { ...counted().connections, forced: 3 } }))
    expect(report).toMatchObject({ exitCode: 130, secondSignal: 'SIGINT', timedOut: false, pending: ['hook pg'] })
    expect(formatReport(report).split('\n')[0]).toBe('lastcall shutdown (SIGTERM): CUT SHORT by a second SIGINT, exit 130 after 312 ms')
  })
})
