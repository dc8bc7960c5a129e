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

// Readiness, probes and streams over h2c; ws fixtures use the HTTP/1.1 load plus one WebSocket. Longer exit bound:
// the HTTP/2 client keeps streams going until GOAWAY, which holds a lastcall app's readiness delay to its maximum (3 s).
const H2 = ['--http2', '--duration', '1500', '--connections', '8', '--slow-path', '/slow?ms=300', '--request-timeout', '2000', '--exit-timeout', '8000']

describe('lastcall check --http2', () => {
  it('passes a lastcall h2c app: streams in flight at the GOAWAY complete, new ones are refused (retryable), exit 0', async () => {
    const { code, result } = await runCheck(H2, ['node', ...TSX, fixture('h2c-lastcall.ts')])
    expect(result.failures).toEqual([])
    expect(code).toBe(0)
    const h2 = result.http2!
    expect(h2.error).toBeUndefined()
    expect(h2.http1).toBe(false)
    expect(result.requests.total).toBe(0)
    expect(result.readiness).toMatchObject({ endpoint: true, failedBeforeClose: true })
    expect(h2.goaway).toBe(true)
    expect(h2.goawayAfterMs).not.toBeNull()
    expect(h2.byKind.completed).toBeGreaterThan(0)
    // The slow streams in flight when the GOAWAY came were still served...
    expect(h2.afterGoaway.completed).toBeGreaterThan(0)
    // ...and the client's next streams were refused, which is not a failure: the server never saw them.
    expect(h2.afterGoaway.refused).toBeGreaterThan(0)
    expect(h2.byKind['reset-reused'] + h2.byKind['reset-new'] + h2.byKind.hung).toBe(0)
    expect(h2.statuses).toEqual({ 200: h2.byKind.completed })
    expect(result.exit).toMatchObject({ code: 0, signal: null, killed: false })
    expect(gone(result.pid)).toBe(true)
  })

  it('fails a naive h2c app that exits on SIGTERM: streams reset, no GOAWAY, exit 1', async () => {
    const { code, result } = await runCheck(H2, ['node', fixture('h2c-naive.mjs')])
    expect(code).toBe(1)
    const h2 = result.http2!
    expect(h2.goaway).toBe(false)
    expect(h2.byKind.completed).toBeGreaterThan(0)
    expect(h2.byKind['reset-reused'] + h2.byKind['reset-new']).toBeGreaterThan(0)
    expect(codes(result)).toContain('http2-reset')
    expect(result.failures.find((f) => f.code === 'http2-reset')!.message).toContain('never sent GOAWAY')
    expect(gone(result.pid)).toBe(true)
  })

  it('says so when the app does not speak h2c, without waiting for the startup timeout', async () => {
    const { code, result } = await runCheck(['--http2', '--startup-timeout', '20000'], ['node', fixture('naive.mjs')])
    expect(code).toBe(1)
    expect(codes(result)).toEqual(['not-ready'])
    expect(result.failures[0]!.message).toContain('h2c')
    expect(result.durationMs).toBeLessThan(10_000)
    expect(gone(result.pid)).toBe(true)
  })
})

describe('lastcall check --ws', () => {
  it('passes a lastcall app with its WebSocketServer handed over: the WebSocket gets close 1001, exit 0', async () => {
    const { code, result } = await runCheck([...SHORT, '--ws'], ['node', ...TSX, fixture('ws-lastcall.ts')])
    expect(result.failures).toEqual([])
    expect(code).toBe(0)
    expect(result.ws).toEqual({ closeCode: 1001, reason: 'server shutting down' })
    expect(gone(result.pid)).toBe(true)
  })

  it('fails an app that exits on SIGTERM: the WebSocket is cut without a close frame (1006), exit 1', async () => {
    const { code, result } = await runCheck([...SHORT, '--ws'], ['node', fixture('ws-naive.mjs')])
    expect(code).toBe(1)
    expect(result.ws?.closeCode).toBe(1006)
    expect(codes(result)).toContain('ws-dropped')
    expect(result.failures.find((f) => f.code === 'ws-dropped')!.message).toContain('without a close frame')
    expect(gone(result.pid)).toBe(true)
  })

  it('fails an app whose server.close() waits on the open WebSocket: killed at the bound, the WebSocket never closed', async () => {
    const { code, result } = await runCheck([...SHORT, '--ws', '--exit-timeout', '1500'], ['node', fixture('ws-close-hangs.mjs')])
    expect(code).toBe(1)
    expect(result.exit.killed).toBe(true)
    expect(codes(result)).toEqual(expect.arrayContaining(['killed', 'ws-dropped']))
    expect(result.failures.find((f) => f.code === 'ws-dropped')!.message).toContain('SIGKILLed')
    expect(gone(result.pid)).toBe(true)
  })
})
