import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { FixtureConfig } from './fixture.js'

export interface Fixture {
  child: ChildProcess
  port: number
  /** Every JSON line the child printed so far. */
  events: Array<Record<string, any>>
  /** Resolves with the first event (past or future) that matches; rejects if the child exits first. */
  waitFor(predicate: (event: Record<string, any>) => boolean): Promise<Record<string, any>>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr(): string
  /** SIGKILLs the child if it is still running (for `finally`). */
  kill(): void
}

/**
 * Forks a fixture app (TypeScript through tsx, on the `@lastcall/source`
 * condition) and resolves once it listens. The caller must `kill()` it in a `finally`.
 */
export async function startFixture(file: string, config: FixtureConfig): Promise<Fixture> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', file], {
    env: { ...process.env, LASTCALL_FIXTURE: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: Array<Record<string, any>> = []
  const waiters: Array<{ predicate: (e: Record<string, any>) => boolean; resolve: (e: Record<string, any>) => void }> = []
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: Record<string, any>
    try {
      event = JSON.parse(line) as Record<string, any>
    } catch {
      return
    }
    events.push(event)
    for (const w of [...waiters]) {
      if (!w.predicate(event)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(event)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const waitFor = (predicate: (e: Record<string, any>) => boolean): Promise<Record<string, any>> => {
    const found = events.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve })
      void exited.then(() => setImmediate(() => reject(new Error(`fixture exited before the awaited event; stderr:\n${stderr}`))))
    })
  }
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL')
  }
  try {
    const listening = await waitFor((e) => e.event === 'listening')
    return { child, port: listening.port as number, events, waitFor, exited, stderr: () => stderr, kill }
  } catch (error) {
    kill()
    throw error
  }
}

const tlsDir = join(import.meta.dirname, '..', 'fixtures', 'tls')

/** A self-signed key and certificate for 127.0.0.1 (clients here skip verification). */
export function tlsOptions(): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) }
}
