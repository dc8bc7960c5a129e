// Open-file limits: 10,000 connections need 10,000 descriptors in the server
// and as many in the client process.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** The soft limit on open files of this process (Linux), or undefined. */
export function openFilesLimit() {
  try {
    const row = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = row?.split(/\s+/)[3]
    return soft === 'unlimited' ? Infinity : Number(soft)
  } catch {
    return undefined
  }
}

/**
 * Spawns `node <script> ...args` pinned to `cpu` with `taskset`, through a
 * shell that first raises the open-files limit: to 65536, or to the hard
 * limit when 65536 is above it (containers often cap it; the child reports
 * what it got and the caller checks it is enough).
 */
export function spawnNode(cpu, script, args, { nodeArgs = [], stdin = 'ignore' } = {}) {
  const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"'
  const argv = ['sh', '-c', raise, 'sh', process.execPath, ...nodeArgs, script, ...args]
  const command = cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv]
  return spawn(command[0], command.slice(1), { stdio: [stdin, 'pipe', 'inherit'] })
}
