import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CheckResult } from '../src/index.js'

const root = join(import.meta.dirname, '..')
const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', name)
const TSX = ['--import', 'tsx', '--conditions=@lastcall/source']

/** Runs the real `lastcall` bin (from source, through tsx) as a child process, with --json. */
async function runCheck(args: string[], command: string[]): Promise<{ code: number | null; result: CheckResult; stderr: string }> {
  const child = spawn(process.execPath, [...TSX, join(root, 'src', 'bin.ts'), 'check', '--json', ...args, '--', ...command], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  try {
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, result: JSON.parse(stdout) as CheckResult, stderr }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

const SHORT = ['--duration', '1500', '--connections', '8', '--slow-path', '/slow?ms=300', '--request-timeout', '2000', '--exit-timeout', '4000']
const codes = (r: CheckResult): string[] => r.failures.map((f) => f.code)

/** The app's pid is gone: signal 0 throws ESRCH. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

describe('lastcall check', () => {
  it('fails a naive app that exits on SIGTERM: resets on requests in flight, no readiness', async () => {
    const { code, result, stderr } = await runCheck(SHORT, ['node', fixture('naive.mjs')])
    expect(code).toBe(1)
    expect(result.ok).toBe(false)
    expect(result.requests.byKind['reset-reused'] + result.requests.byKind['reset-new']).toBeGreaterThan(0)
    expect(codes(result)).toContain('no-readiness')
    expect(codes(result).some((c) => c === 'reset-reused' || c === 'reset-new')).toBe(true)
    expect(result.exit).toMatchObject({ code: 0, killed: false })
    expect(result.readiness.endpoint).toBe(false)
    // Every failure says how to fix it.
    for (const f of result.failures) expect(f.fix.length).toBeGreaterThan(20)
    expect(stderr).toContain('sigterm')
    expect(gone(result.pid)).toBe(true)
  })

  it('fails server.close() alone: the listener closes at SIGTERM with nothing telling the balancer first', async () => {
    const { code, result } = await runCheck(SHORT, ['node', fixture('close-only.mjs')])
    expect(code).toBe(1)
    expect(codes(result)).toContain('no-readiness')
    expect(result.readiness.listenerClosedAfterMs).not.toBeNull()
    // Pooled keep-alive connections stay open after the load stops: close() waits for them to time out (5 s keepAliveTimeout).
    expect(result.exit.afterMs).toBeGreaterThan(1000)
    expect(result.requests.byKind.hung).toBe(0)
    expect(gone(result.pid)).toBe(true)
  })

  it('fails a hanging handler: hung requests', async () => {
    const { code, result } = await runCheck(SHORT, ['node', fixture('hanging.mjs')])
    expect(code).toBe(1)
    expect(result.requests.byKind.hung).toBeGreaterThan(0)
    expect(codes(result)).toContain('hung')
    expect(gone(result.pid)).toBe(true)
  })

  it('kills an app that ignores SIGTERM at --exit-timeout and says so', async () => {
    const { code, result } = await runCheck([...SHORT, '--exit-timeout', '1000', '--no-readiness'], ['node', '-e', 'process.on("SIGTERM", () => {}); require("node:http").createServer((q, s) => s.end("ok")).listen(+process.env.PORT, "127.0.0.1")'])
    expect(code).toBe(1)
    expect(result.exit.killed).toBe(true)
    expect(codes(result)).toEqual(['killed'])
    expect(gone(result.pid)).toBe(true)
  })

  it('passes a lastcall app: readiness fails before the listener closes, nothing fails, exit 0', async () => {
    const { code, result } = await runCheck(SHORT, ['node', ...TSX, fixture('lastcall.ts')])
    expect(result.failures).toEqual([])
    expect(code).toBe(0)
    expect(result.ok).toBe(true)
    expect(result.readiness).toMatchObject({ endpoint: true, failedBeforeClose: true })
    expect(result.readiness.failedAfterMs).not.toBeNull()
    expect(result.requests.byKind.completed).toBeGreaterThan(0)
    expect(result.requests.byKind['reset-reused'] + result.requests.byKind['reset-new'] + result.requests.byKind.hung).toBe(0)
    expect(result.exit).toMatchObject({ code: 0, signal: null, killed: false })
    expect(gone(result.pid)).toBe(true)
  })

  it('reports an app that never becomes ready, and stops it', async () => {
    const { code, result } = await runCheck(['--startup-timeout', '500'], ['node', '-e', 'setTimeout(() => {}, 60000)'])
    expect(code).toBe(1)
    expect(codes(result)).toEqual(['not-ready'])
    expect(gone(result.pid)).toBe(true)
  })

  it('rejects bad flags with exit code 2', async () => {
    const child = spawn(process.execPath, [...TSX, join(root, 'src', 'bin.ts'), 'check', '--duration', 'soon', '--', 'node', 'x.js'], { cwd: root })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const [code] = (await once(child, 'exit')) as [number]
    expect(code).toBe(2)
    expect(stderr).toContain('--duration must be a whole number; received "soon"')
  })
})
