import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { ShutdownReport } from '@lastcall/core'

export interface JsonFixture {
  child: ChildProcess
  /** Every JSON line the fixture printed so far, in order. */
  events: Record<string, any>[]
  /** Resolves with the first line (already seen or to come) that matches. */
  waitFor(match: (event: Record<string, any>) => boolean, what: string): Promise<Record<string, any>>
  /** Resolves when the process exits, with its code, the report it printed, and when it exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; report: ShutdownReport | undefined; at: number }>
  stderr(): string
  kill(): void
}

const running = new Set<ChildProcess>()

/**
 * Runs a TypeScript fixture from source (tsx, the @lastcall/source
 * condition): no build needed. The fixture prints one JSON object per line;
 * the last one with a `report` is the shutdown's report.
 */
export function startJsonFixture(file: string, env: Record<string, string>): JsonFixture {
  const name = file
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  const events: Record<string, any>[] = []
  const waiters: { match: (e: Record<string, any>) => boolean; resolve: (e: Record<string, any>) => void }[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: Record<string, any>
    try {
      event = JSON.parse(line) as Record<string, any>
    } catch {
      return
    }
    events.push(event)
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(event)
      }
    }
  })
  const exited = (async () => {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
    const at = performance.now()
    running.delete(child)
    // Let readline deliver the last lines.
    if (!child.stdout!.readableEnded) await once(child.stdout!, 'end')
    const report = events.find((e) => e.report)?.report as ShutdownReport | undefined
    return { code, signal, report, at }
  })()
  return {
    child,
    events,
    waitFor(match, what) {
      const seen = events.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        exited.then(({ code }) => reject(new Error(`fixture ${name} exited (${code}) before "${what}"; stderr:\n${stderr}`)), reject)
      })
    },
    exited,
    stderr: () => stderr,
    kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL')
    },
  }
}

/** Kills (by pid) every fixture still running; for afterEach. */
export function killJsonFixtures(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  running.clear()
}
