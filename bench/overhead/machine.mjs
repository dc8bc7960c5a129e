// What a benchmark ran on, recorded beside its numbers.
import { execFileSync } from 'node:child_process'
import os from 'node:os'

function git(args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

export function machine() {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: git(['rev-parse', '--short', 'HEAD']),
    // Uncommitted changes under packages/ (the benchmark imports the workspace build).
    packagesDirty: Boolean(git(['status', '--porcelain', '--', 'packages'])),
    date: new Date().toISOString(),
  }
}
