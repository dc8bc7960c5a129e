import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const demo = join(dirname(fileURLToPath(import.meta.url)), '..', 'demo.mjs')

interface Tally {
  ok: number
  refused: number
  streamCut: number
  [outcome: string]: number
}
interface RunSummary {
  name: string
  exitCode: number | null
  sent: number
  tally: Tally
  failed: number
  report: {
    exitCode: number
    trigger: { type: string; signal?: string }
    timeline: { state: string }[]
    requests: { forced: number; timedOut: number }
    hooks: { name: string; outcome: string }[]
  } | null
}

/**
 * Runs the demo for real (it forks its servers and loads them over loopback)
 * on source: the flags reach the servers it forks through `process.execArgv`.
 */
async function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', demo, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  // The demo bounds itself; this only guards against a broken demo hanging the suite.
  const guard = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 50_000)
  try {
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, stdout, stderr }
  } finally {
    clearTimeout(guard)
  }
}

describe('demo.mjs', () => {
  it('runs Express by default, fails no request in flight with lastcall, exits 0, and shows the naive server failing the same load', async () => {
    const { code, stdout, stderr } = await runDemo(['--duration', '1', '--connections', '8', '--compare', '--json'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(stdout) as { framework: string; ok: boolean; runs: RunSummary[] }
    expect(summary.framework).toBe('express')
    expect(summary.ok).toBe(true)
    const [lastcall, naive] = summary.runs
    if (!lastcall || !naive) throw new Error(`expected two runs, got ${summary.runs.length}`)

    expect(lastcall.sent).toBeGreaterThan(100)
    expect(lastcall.failed).toBe(0)
    expect(lastcall.tally.ok).toBeGreaterThan(100)
    expect(lastcall.exitCode).toBe(0)
    expect(lastcall.report?.exitCode).toBe(0)
    expect(lastcall.report?.trigger).toEqual({ type: 'signal', signal: 'SIGTERM' })
    expect(lastcall.report?.timeline.map((t) => t.state)).toEqual(['leaving', 'draining', 'closing', 'closed'])

    // The naive server never ends the SSE stream, so its server.close() never
    // calls back: the 5 s timer exits with the stream (and whatever else) cut.
    expect(naive.report).toBeNull()
    expect(naive.exitCode).toBe(1)
    expect(naive.tally.streamCut).toBe(1)
    expect(naive.failed).toBeGreaterThanOrEqual(1)
  })

  // Every framework under the same (short) load: the SSE stream ends with its
  // final event on the request's drain signal, nothing fails, the process exits 0.
  it.each(['koa', 'fastify', 'hono', 'nestjs', 'core'])('fails no request in flight with --framework %s and exits 0', async (framework) => {
    const { code, stdout, stderr } = await runDemo(['--framework', framework, '--duration', '0.5', '--connections', '4', '--json'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(stdout) as { framework: string; ok: boolean; runs: RunSummary[] }
    expect(summary.framework).toBe(framework)
    expect(summary.ok).toBe(true)
    expect(summary.runs).toHaveLength(1)
    const [run] = summary.runs
    if (!run) throw new Error('no run')
    expect(run.sent).toBeGreaterThan(20)
    expect(run.failed).toBe(0)
    // ok counts the SSE stream only when it ended with the final `shutdown` event.
    expect(run.tally.streamCut).toBe(0)
    expect(run.tally.ok).toBe(run.sent - run.tally.refused)
    expect(run.exitCode).toBe(0)
    expect(run.report?.exitCode).toBe(0)
    expect(run.report?.requests).toMatchObject({ forced: 0, timedOut: 0 })
    expect(run.report?.timeline.map((t) => t.state)).toEqual(['leaving', 'draining', 'closing', 'closed'])
    // Fastify's own close() runs after the drain, as a lastcall cleanup hook.
    if (framework === 'fastify') expect(run.report?.hooks).toEqual([expect.objectContaining({ name: 'fastify.close', outcome: 'ok' })])
    // So does Nest's app.close() (onModuleDestroy, onApplicationShutdown...).
    if (framework === 'nestjs') expect(run.report?.hooks).toEqual([expect.objectContaining({ name: 'nest.close', outcome: 'ok' })])
  })

  it('draws the timeline, the report and the tally in the terminal', async () => {
    const { code, stdout } = await runDemo(['--duration', '0.5', '--connections', '4'])
    expect(code).toBe(0)
    const serverRow = stdout.split('\n').find((line) => line.trimStart().startsWith('server '))
    expect(serverRow).toMatch(/\.+T.*D.*X/)
    expect(stdout).toContain('lastcall shutdown (SIGTERM): clean, exit 0')
    expect(stdout).toMatch(/= FAILED in flight\s+0\n/)
    expect(stdout).toMatch(/none failed; exit code 0\./)
  })

  it('rejects an unknown framework and names the ones it knows', async () => {
    const { code, stderr } = await runDemo(['--framework', 'nope'])
    expect(code).toBe(2)
    expect(stderr).toContain('--framework must be one of express, koa, fastify, hono, nestjs, core; received "nope"')
  })
})
