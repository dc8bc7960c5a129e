/**
 * Shared by the PM2, cluster and dev-restart tests: the events every
 * fixture app (fixtures/platform-app.mjs) reports over a unix socket, a
 * scratch folder, and a bounded keep-alive load that can be told to stop.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface AppEvent {
  pid: number
  event: 'listening' | 'platform' | 'report' | 'gone' | 'restarted' | 'primary-exit'
  [key: string]: unknown
}

/** Events from every app process that connects, plus `gone` when its connection closes (the process exited). */
export interface Events {
  readonly path: string
  readonly all: AppEvent[]
  next(match: (e: AppEvent) => boolean): Promise<AppEvent>
  /** Resolves once `count` events match (already seen or still to come). */
  count(match: (e: AppEvent) => boolean, count: number): Promise<AppEvent[]>
  close(): Promise<void>
}

export async function listenForEvents(dir: string): Promise<Events> {
  const path = join(dir, 'events.sock')
  const all: AppEvent[] = []
  const waiters: Array<() => void> = []
  const push = (e: AppEvent): void => {
    all.push(e)
    for (const w of [...waiters]) w()
  }
  const server: Server = createServer((socket) => {
    let pid = -1
    let rest = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        const e = JSON.parse(line) as AppEvent
        pid = e.pid
        push(e)
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => push({ pid, event: 'gone' }))
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  const count = (match: (e: AppEvent) => boolean, n: number): Promise<AppEvent[]> =>
    new Promise((resolve) => {
      const check = (): boolean => {
        const found = all.filter(match)
        if (found.length < n) return false
        resolve(found)
        return true
      }
      if (check()) return
      const w = (): void => {
        if (check()) waiters.splice(waiters.indexOf(w), 1)
      }
      waiters.push(w)
    })
  return {
    path,
    all,
    next: async (match) => (await count(match, 1))[0]!,
    count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

export function scratch(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Counts completed requests, so a test can wait for "n more" (an event, not a time). */
export function completions(): { onOutcome: (o: { kind: string }) => void; more: (n: number) => Promise<void> } {
  let completed = 0
  const waiters: Array<[number, () => void]> = []
  return {
    onOutcome: (o) => {
      if (o.kind !== 'completed') return
      completed++
      for (const w of [...waiters]) {
        if (completed < w[0]) continue
        waiters.splice(waiters.indexOf(w), 1)
        w[1]()
      }
    },
    more: (n) => new Promise((resolve) => waiters.push([completed + n, resolve])),
  }
}
