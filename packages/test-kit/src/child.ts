import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { FixtureCommand, FixtureConfig } from './fixture.js'
import { defaultRuntime, fixtureCommand, type Runtime } from './runtimes.js'

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
  /** Calls `listener` with every event the child prints from now on. */
  onEvent(listener: (event: Record<string, any>) => void): void
  /** Sends a command to a fixture started with `control: true` (see `FixtureCommand`). */
  command(command: FixtureCommand): void
}

export interface StartFixtureOptions {
  /** The runtime that runs the app (default: `LASTCALL_FIXTURE_RUNTIME`, else the Node running the tests). */
  runtime?: Runtime | undefined
}

/**
 * Starts a fixture app (TypeScript on the `@lastcall/source` condition: tsx on
 * Node, natively on Bun and Deno) and resolves once it listens. The caller must
 * `kill()` it in a `finally`. Rejects when the runtime cannot run here.
 */
export async function startFixture(file: string, config: FixtureConfig, options: StartFixtureOptions = {}): Promise<Fixture> {
  const run = fixtureCommand(options.runtime ?? defaultRuntime(), file)
  if (run.skip !== undefined) throw new Error(run.skip)
  const [command, ...args] = run.command
  const child = spawn(command!, args, {
    env: { ...process.env, LASTCALL_FIXTURE: JSON.stringify(config) },
    stdio: [config.control ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  // A command written after the child died: the test sees the exit, not EPIPE.
  child.stdin?.on('error', () => {})
  const events: Array<Record<string, any>> = []
  const listeners: Array<(event: Record<string, any>) => void> = []
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
    for (const listener of listeners) listener(event)
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
  const onEvent = (listener: (event: Record<string, any>) => void): void => void listeners.push(listener)
  const sendCommand = (command: FixtureCommand): void => {
    if (child.stdin === null) throw new Error('the fixture was not started with control: true')
    child.stdin.write(`${JSON.stringify(command)}\n`)
  }
  try {
    const listening = await waitFor((e) => e.event === 'listening')
    return { child, port: listening.port as number, events, waitFor, exited, stderr: () => stderr, kill, onEvent, command: sendCommand }
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
