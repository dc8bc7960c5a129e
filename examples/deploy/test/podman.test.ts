/**
 * Podman (Debian's podman 4.3, rootful, its own storage folders): lastcall
 * with no option at all in a container, stopped by `podman stop` with
 * Podman's default 10 s under keep-alive load. lastcall must recognise the
 * container (Podman sets `container=podman` and `/run/.containerenv`) and
 * exit 0 by itself before the SIGKILL. The image is the same root filesystem
 * the Docker tests import (scripts/docker.sh rootfs); the repository is
 * mounted at its own path so the fixture loads the built @lastcall/core.
 * Skipped, with the reason, where podman is missing or cannot run.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, waitForReady } from '@lastcall/testing'
import { describe, expect, it } from 'vitest'
import { stopUnderDirectLoad } from './load.js'

const run = promisify(execFile)
const repo = join(import.meta.dirname, '..', '..', '..')
const IMAGE = 'lastcall-node:local'
const CLIENTS = 8

describe('podman stop', () => {
  it('with lastcall’s defaults and Podman’s (10 s): recognised as a container, exits 0 by itself before the SIGKILL', async (context) => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return context.skip('rootful podman needs root on Linux')
    try {
      await run('podman', ['--version'])
    } catch {
      return context.skip('podman is not installed (Debian package podman)')
    }
    const dir = mkdtempSync(join(tmpdir(), 'lastcall-podman-'))
    // Its own storage, and the limits root cannot raise here (see PLATFORM-FACTS: hard limits).
    const podman = (args: string[], timeout = 60_000) =>
      run('podman', ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], { timeout, maxBuffer: 16 * 2 ** 20 })
    const name = `lastcall-podman-${process.pid}`
    try {
      const tarball = join(dir, 'rootfs.tar')
      await run(join(repo, 'scripts', 'docker.sh'), ['rootfs', tarball], { timeout: 120_000 })
      await podman(['import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', tarball, IMAGE], 120_000)
      const port = await freePort()
      const fixture = join(import.meta.dirname, 'fixtures', 'defaults-server.mjs')
      try {
        await podman(['run', '-d', '--name', name, '--network', 'host', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096',
          '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', '-v', `${repo}:${repo}:ro`, IMAGE, 'node', fixture])
      } catch (error) {
        return context.skip(`podman run failed here: ${(error as Error).message.split('\n').slice(-2).join(' ')}`)
      }
      await waitForReady({ port, timeoutMs: 20_000 })
      const { stopMs, counts } = await stopUnderDirectLoad(port, CLIENTS, () => podman(['stop', name]))
      const exitCode = Number((await podman(['inspect', '-f', '{{.State.ExitCode}}', name])).stdout.trim())
      const { stdout } = await podman(['logs', name])
      console.log(`[podman] defaults: podman stop took ${stopMs} ms; exit ${exitCode}; ${JSON.stringify(counts)}`)
      expect(stdout).toContain('platform: a container')
      expect(exitCode).toBe(0)
      expect(stopMs).toBeLessThan(10_000)
      // As in docker.test.ts: nothing lost on accepted connections; at most one connect per client raced the listener's close.
      expect(counts['reset-reused'] + counts.hung + counts.rejected).toBe(0)
      expect(counts['reset-new']).toBeLessThanOrEqual(CLIENTS)
    } finally {
      await podman(['rm', '-f', name]).catch(() => {})
      await podman(['rmi', '-f', IMAGE]).catch(() => {})
      // Podman's overlay mounts live under its own storage folder; unmount before removing it.
      await run('sh', ['-c', `awk -v d="${dir}/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
