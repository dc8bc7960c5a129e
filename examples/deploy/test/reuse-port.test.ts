/**
 * Same-port handoffs with `listenTarget(port, { reusePort: true })`: the new
 * process binds the port beside the old one, then the old one drains. Run in
 * network namespaces this test creates (`ip netns add`, lo up), each with its
 * own `net.ipv4.tcp_migrate_req`, under Node ≥ 22.12 (reusePort's first
 * release; Node 20 answers EADDRINUSE): the pinned official binary from
 * scripts/node-version.sh 22 when present, LASTCALL_NODE22, or this Node.
 *
 * What it shows: nothing is ever refused (a listener is always there), and
 * when the old listener closes, the kernel resets the connections still in
 * its accept queue unless tcp_migrate_req=1 moves them to the new listener.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { supportsReusePort } from '@lastcall/core'
import type { OutcomeKind } from '@lastcall/testing'
import { describe, expect, it } from 'vitest'
import { lost } from './load.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const repo = join(root, '..', '..')

/** A Node binary with reusePort, or why there is none. */
function node22(): { path: string } | { skip: string } {
  const candidates: string[] = []
  if (process.env.LASTCALL_NODE22) candidates.push(process.env.LASTCALL_NODE22)
  const pinned = join(repo, 'scripts', 'node-version.sh')
  if (existsSync(pinned)) {
    try {
      candidates.push(execFileSync(pinned, ['22'], { encoding: 'utf8', timeout: 120_000 }).trim())
    } catch {
      // not installable here: the other candidates remain
    }
  }
  candidates.push(process.execPath)
  for (const path of candidates) {
    try {
      const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
      if (supportsReusePort(version, process.platform)) return { path }
    } catch {
      // not runnable
    }
  }
  return { skip: `no Node ≥ 22.12 on Linux to run reusePort (this is ${process.version} on ${process.platform}; set LASTCALL_NODE22 or add scripts/node-version.sh)` }
}

interface Handoff {
  live: { counts: Record<OutcomeKind, number>; handoffMs: number; oldExitCode: number }
  burst: { counts: Record<OutcomeKind, number>; burst: number; firstServedByOld: boolean; oldExitCode: number }
}

/** Runs fixtures/reuse-port-handoff.ts in a fresh network namespace with tcp_migrate_req set; removes the namespace. */
async function handoff(node: string, migrate: 0 | 1): Promise<Handoff> {
  const ns = `lastcall-rp-${process.pid}-${migrate}`
  await run('ip', ['netns', 'add', ns])
  try {
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.tcp_migrate_req=${migrate}`])
    const { stdout } = await run('ip', ['netns', 'exec', ns, node, '--import', 'tsx', '--conditions=@lastcall/source', join(import.meta.dirname, 'fixtures', 'reuse-port-handoff.ts')], { cwd: root, timeout: 90_000 })
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Handoff
  } finally {
    await run('ip', ['netns', 'del', ns])
  }
}

/** Why network namespaces cannot be used here, or undefined. */
async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'creating a network namespace needs root'
  if (!existsSync('/proc/sys/net/ipv4/tcp_migrate_req')) return 'this kernel has no net.ipv4.tcp_migrate_req (Linux < 5.14)'
  try {
    await run('ip', ['-V'])
  } catch {
    return 'the ip command (iproute2) is not installed'
  }
  return undefined
}

describe('listenTarget(port, { reusePort: true }): a same-port handoff', () => {
  it('refuses nothing; with tcp_migrate_req=1 loses nothing, without it the kernel resets what waits in the old accept queue', async (context) => {
    const node = node22()
    if ('skip' in node) return context.skip(node.skip)
    const reason = await netnsUnavailable()
    if (reason) return context.skip(reason)

    const without = await handoff(node.path, 0)
    const withMigrate = await handoff(node.path, 1)
    console.log(`[reusePort] tcp_migrate_req=0: live ${JSON.stringify(without.live)}, burst ${JSON.stringify(without.burst.counts)}`)
    console.log(`[reusePort] tcp_migrate_req=1: live ${JSON.stringify(withMigrate.live)}, burst ${JSON.stringify(withMigrate.burst.counts)}`)

    for (const r of [without, withMigrate]) {
      expect(r.live.counts.refused + r.burst.counts.refused).toBe(0)
      expect([r.live.oldExitCode, r.burst.oldExitCode]).toEqual([0, 0])
      expect(r.burst.firstServedByOld).toBe(true)
    }
    // Live load without tcp_migrate_req: what waited in the old listener's queue when it closed is reset (measured: 0-4 of ~1,150 idle, more on a loaded machine); only logged.
    expect(without.live.counts.completed).toBeGreaterThan(600)
    expect(lost(withMigrate.live.counts)).toBe(0)
    // The burst: about half of 300 connections wait in the busy old process's queue when it closes.
    expect(without.burst.counts['reset-new']).toBeGreaterThan(0)
    expect(lost(withMigrate.burst.counts)).toBe(0)
    expect(withMigrate.burst.counts.completed).toBe(withMigrate.burst.burst)
  }, 120_000)
})
