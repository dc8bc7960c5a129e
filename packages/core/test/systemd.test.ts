/**
 * systemd `Type=notify` support. No systemd runs here, so a stand-in
 * `systemd-notify` script placed first on PATH records the arguments it is
 * called with (and the NOTIFY_SOCKET it saw); everything else is real: a
 * child process, its server, a real SIGTERM.
 */
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { send } from './helpers.js'

interface Child {
  events: Array<Record<string, any>>
  waitFor(predicate: (e: Record<string, any>) => boolean): Promise<Record<string, any>>
  exited: Promise<number | null>
  pid: number
}

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function fakeNotify(exitCode = 0): { dir: string; record: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lastcall-notify-'))
  const record = join(dir, 'calls.log')
  const script = join(dir, 'systemd-notify')
  writeFileSync(script, `#!/bin/sh\necho "$* socket=$NOTIFY_SOCKET" >> "${record}"\n${exitCode === 0 ? '' : 'echo "cannot reach systemd" >&2\n'}exit ${exitCode}\n`)
  chmodSync(script, 0o755)
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return { dir, record }
}

function start(env: Record<string, string | undefined>, options: Record<string, unknown> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', join(import.meta.dirname, 'fixtures', 'crash-server.ts')], {
    env: { ...process.env, NOTIFY_SOCKET: undefined, ...env, LASTCALL_FIXTURE: JSON.stringify({ options: { readinessDelayMs: 0, ...options } }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const events: Array<Record<string, any>> = []
  const waiters: Array<[(e: Record<string, any>) => boolean, (e: Record<string, any>) => void]> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as Record<string, any>
    events.push(event)
    for (const w of [...waiters]) {
      if (!w[0](event)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w[1](event)
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    events, exited, pid: child.pid!,
    waitFor: (predicate) => {
      const found = events.find(predicate)
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push([predicate, resolve]))
    },
  }
}

/** Resolves with the record's lines once it holds `count` of them; watches the directory, no polling. */
function recorded(dir: string, record: string, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      // Only complete lines: the script's write may be seen half done.
      const lines = existsSync(record) ? readFileSync(record, 'utf8').split('\n').slice(0, -1) : []
      if (lines.length < count) return false
      watcher.close()
      resolve(lines)
      return true
    }
    const watcher = watch(dir, () => void check())
    check()
  })
}

describe('systemd notifications (stand-in systemd-notify on PATH)', () => {
  it('sends READY=1 once the server is ready and STOPPING=1 when the shutdown starts, through systemd-notify', async () => {
    const { dir, record } = fakeNotify()
    const child = start({ NOTIFY_SOCKET: '/run/fake/notify', PATH: `${dir}:${process.env.PATH}` })
    const { ports } = await child.waitFor((e) => e.event === 'listening')
    expect(await recorded(dir, record, 1)).toEqual(['READY=1 socket=/run/fake/notify'])
    expect((await send(ports[0], '/')).ok).toBe(true)
    process.kill(child.pid, 'SIGTERM')
    expect(await child.exited).toBe(0)
    expect(await recorded(dir, record, 2)).toEqual(['READY=1 socket=/run/fake/notify', 'STOPPING=1 socket=/run/fake/notify'])
  })

  it('logs a failing systemd-notify at warn and still serves and drains', async () => {
    const { dir, record } = fakeNotify(1)
    const child = start({ NOTIFY_SOCKET: '/run/fake/notify', PATH: `${dir}:${process.env.PATH}` })
    const { ports } = await child.waitFor((e) => e.event === 'listening')
    const warning = await child.waitFor((e) => e.event === 'log' && e.level === 'warn')
    expect(warning.message).toMatch(/^systemd-notify READY=1 failed: Command failed/)
    expect(warning.fields.stderr).toBe('cannot reach systemd')
    expect((await send(ports[0], '/')).ok).toBe(true)
    process.kill(child.pid, 'SIGTERM')
    expect(await child.exited).toBe(0)
    expect(await recorded(dir, record, 2)).toHaveLength(2)
  })

  it('logs at warn when systemd-notify is not installed', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lastcall-nopath-'))
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }))
    // Only node itself is reachable (by absolute path); PATH holds no systemd-notify.
    const child = start({ NOTIFY_SOCKET: '/run/fake/notify', PATH: empty })
    const warning = await child.waitFor((e) => e.event === 'log' && e.level === 'warn')
    expect(warning.message).toContain('systemd-notify READY=1 failed')
    expect(warning.message).toContain('ENOENT')
    process.kill(child.pid, 'SIGTERM')
    expect(await child.exited).toBe(0)
  })

  it('calls nothing when NOTIFY_SOCKET is not set', async () => {
    const { dir, record } = fakeNotify()
    const child = start({ PATH: `${dir}:${process.env.PATH}` })
    await child.waitFor((e) => e.event === 'state' && e.state === 'serving')
    process.kill(child.pid, 'SIGTERM')
    expect(await child.exited).toBe(0)
    expect(existsSync(record)).toBe(false)
    expect(child.events.filter((e) => e.event === 'log' && e.level === 'warn')).toEqual([])
  })
})
