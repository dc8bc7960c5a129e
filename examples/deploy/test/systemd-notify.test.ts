/**
 * The systemd recipe's notify protocol against a real NOTIFY_SOCKET: the
 * real `systemd-notify` command (Debian's systemd package) writes to a unix
 * datagram socket that fixtures/notify-receiver.py binds and reads as systemd
 * does (sender credentials, BARRIER=1 acknowledged by closing its fd). The
 * recipe's server.mjs must say READY=1 once it answers /readyz with 200, and
 * STOPPING=1 when SIGTERM starts its shutdown, then exit 0.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, send } from '@lastcall/testing'
import { lineLog } from './lines.js'

const root = join(import.meta.dirname, '..')

function python(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.SCM_CREDENTIALS'], { stdio: 'ignore' })
    return 'python3'
  } catch {
    return undefined
  }
}

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

describe('systemd/lastcall-example.service: Type=notify', () => {
  it('server.mjs sends READY=1 once ready and STOPPING=1 on SIGTERM through systemd-notify, acknowledged, then exits 0', async (context) => {
    const py = python()
    if (!py) return context.skip('python3 (the NOTIFY_SOCKET receiver) is not installed')
    if (!existsSync('/usr/bin/systemd-notify') && !existsSync('/bin/systemd-notify')) return context.skip('systemd-notify is not installed (Debian package systemd)')
    const dir = mkdtempSync(join(tmpdir(), 'lastcall-notify-'))
    const socket = join(dir, 'notify.sock')
    const receiver = spawn(py, [join(import.meta.dirname, 'fixtures', 'notify-receiver.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(() => {
      receiver.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
    const received = lineLog(receiver.stdout!)
    await received.next((l) => l === 'bound')

    const port = await freePort()
    const server = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', 'server.mjs'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LASTCALL_GRACE_PERIOD_MS: '30000', NOTIFY_SOCKET: socket, pm_id: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(() => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    })
    let stderr = ''
    server.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
    const logs = lineLog(server.stdout!)

    const ready = JSON.parse(await received.next((l) => l.includes('"READY=1"'))) as { pid: number }
    // READY=1 means ready: the balancer-facing probe already passes.
    expect((await send({ port, path: '/readyz' })).status).toBe(200)
    // systemd-notify sends on behalf of its parent (node): as root with node's pid in the
    // credentials, as an unprivileged user with its own (the kernel refuses another pid),
    // which is why the unit says NotifyAccess=all.
    expect(ready.pid).toBeGreaterThan(0)
    expect(received.all.filter((l) => l.includes('STOPPING=1'))).toEqual([])

    server.kill('SIGTERM')
    await received.next((l) => l.includes('"STOPPING=1"'))
    expect(await exited).toBe(0)
    expect(received.all.map((l) => (l === 'bound' ? l : (JSON.parse(l) as { message: string }).message)).filter((m) => m !== 'BARRIER=1')).toEqual(['bound', 'READY=1', 'STOPPING=1'])
    // Every call was acknowledged in time: no warning from lastcall about systemd-notify.
    expect(stderr + logs.all.join('\n')).not.toContain('systemd-notify')
  }, 30_000)
})
