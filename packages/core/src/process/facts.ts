/**
 * The platform facts (`PlatformFacts`) the coordinator hands `platform.ts`:
 * read once from `node:cluster`, the files Linux exposes and the parent
 * processes. Reads only; nothing here signals, exits or listens.
 */
import cluster from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
import type { PlatformFacts } from '../platform.js'

/** What this process can see of its platform, read from the files Linux exposes. */
export function readFacts(): PlatformFacts {
  return {
    clusterWorker: cluster.isWorker,
    files: { dockerenv: existsSync('/.dockerenv'), containerenv: existsSync('/run/.containerenv') },
    cgroup: [readText('/proc/self/cgroup'), readText('/proc/1/cgroup')].filter((t) => t !== undefined).join('\n') || undefined,
    mountinfo: readText('/proc/self/mountinfo'),
    ancestors: ancestors(process.ppid, 2),
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** The argument vectors of `pid` and its parents, `depth` of them at most, from /proc (Linux; empty elsewhere). */
function ancestors(pid: number, depth: number): string[][] {
  const out: string[][] = []
  for (let i = 0; i < depth && pid > 1; i++) {
    const argv = readText(`/proc/${pid}/cmdline`)?.split('\0').filter((a) => a !== '')
    if (argv === undefined) break
    out.push(argv)
    // stat is "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readText(`/proc/${pid}/stat`)
    pid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (!Number.isInteger(pid)) break
  }
  return out
}
