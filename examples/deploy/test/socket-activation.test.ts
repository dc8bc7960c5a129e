/**
 * Socket activation for real: `systemd-socket-activate` (Debian's systemd
 * package; PID 1 here is not systemd) binds the port and passes it as fd 3 to
 * a holder (fixtures/socket-holder.mjs) that keeps it open and restarts the
 * recipe's server.mjs on it, which serves it through `listenTarget()`. Under
 * bounded keep-alive load, a restart (old exits, then the new one starts)
 * and an overlapped handoff (new one up, then the old one drains) refuse no
 * connection and lose no request: connections that arrive while no process
 * accepts wait in the socket's queue.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, waitForReady } from '@lastcall/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { lineLog, type LineLog } from './lines.js'
import { lost, pacedLoad } from './load.js'

const root = join(import.meta.dirname, '..')
const ACTIVATE = ['/usr/bin/systemd-socket-activate', '/bin/systemd-socket-activate'].find((p) => existsSync(p))

type HolderEvent = { event: 'started' | 'line' | 'exit'; pid: number; line?: string; code?: number | null; signal?: string | null }

/** The holder under systemd-socket-activate and its events. */
function startHolder(port: number, command: readonly string[], cwd: string): { child: ChildProcess; events: LineLog<HolderEvent>; send(line: string): void } {
  const child = spawn(ACTIVATE!, ['-l', `127.0.0.1:${port}`, process.execPath, join(import.meta.dirname, 'fixtures', 'socket-holder.mjs'), ...command], {
    cwd,
    env: { ...process.env, NOTIFY_SOCKET: undefined, LASTCALL_GRACE_PERIOD_MS: '30000' },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const events = lineLog<HolderEvent>(child.stdout!, (line) => (line.startsWith('{') ? (JSON.parse(line) as HolderEvent) : undefined))
  return { child, events, send: (line) => child.stdin!.write(`${line}\n`) }
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

describe('listenTarget() under systemd-socket-activate', () => {
  it('a restart and an overlapped handoff behind the socket holder refuse no connection and lose no request', async (context) => {
    if (!ACTIVATE) return context.skip('systemd-socket-activate is not installed (Debian package systemd)')
    const port = await freePort()
    const holder = startHolder(port, [process.execPath, '--import', 'tsx', '--conditions=@lastcall/source', 'server.mjs'], root)
    children.push(holder.child)
    // The first connection makes systemd-socket-activate start the holder.
    await waitForReady({ port, timeoutMs: 20_000 })
    const first = (await holder.events.next((e) => e.event === 'started')).pid

    const stop = new AbortController()
    let completed = 0
    const milestones = new Map<number, () => void>()
    const after = (n: number): Promise<void> => new Promise((resolve) => milestones.set(completed + n, resolve))
    const load = pacedLoad({
      port, connections: 8, pauseMs: 5, maxRequests: 60_000, signal: stop.signal,
      onOutcome: (o) => {
        if (o.kind === 'completed') milestones.get(++completed)?.()
      },
    })
    await after(200)

    const t0 = performance.now()
    holder.send('restart')
    const second = (await holder.events.next((e) => e.event === 'started' && e.pid !== first)).pid
    await holder.events.next((e) => e.event === 'line' && e.pid === second && /listening/.test(e.line!))
    const restartMs = Math.round(performance.now() - t0)
    await after(200)

    const t1 = performance.now()
    holder.send('overlap')
    const third = (await holder.events.next((e) => e.event === 'started' && e.pid !== first && e.pid !== second)).pid
    await holder.events.next((e) => e.event === 'exit' && e.pid === second)
    const overlapMs = Math.round(performance.now() - t1)
    await after(200)
    stop.abort()
    const { outcomes, counts } = await load
    holder.send('stop')
    await holder.events.next((e) => e.event === 'exit' && e.pid === third)

    const servedBy = new Set(outcomes.map((o) => /hello from (\d+)/.exec(o.body ?? '')?.[1]).filter(Boolean))
    console.log(`[socket-activation] ${JSON.stringify(counts)}; restart (SIGTERM → next listening) ${restartMs} ms; overlapped handoff (start → old exited) ${overlapMs} ms; served by ${servedBy.size} processes`)
    expect(counts.refused).toBe(0)
    expect(lost(counts)).toBe(0)
    expect(servedBy).toEqual(new Set([first, second, third].map(String)))
    expect(holder.events.all.filter((e) => e.event === 'exit').map((e) => e.code)).toEqual([0, 0, 0])
  }, 90_000)
})
