/**
 * The one fixture runner: a test app in a child process (TypeScript from
 * source, on Node, Bun or Deno), whose stdout lines that parse as JSON are its
 * events. Tests wait on those events, never on time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { defaultRuntime, fixtureCommand, type Runtime } from './runtimes.js'

/** One JSON line the fixture printed. */
export type FixtureEvent = Record<string, any>

export interface FixtureExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Fixture {
  child: ChildProcess
  /** Every JSON line the child printed so far, in order (other lines are passed over). */
  events: FixtureEvent[]
  /**
   * Resolves with the first event (already seen or to come) that matches;
   * rejects, naming `what` and the child's stderr, if the child exits first.
   */
  waitFor(match: (event: FixtureEvent) => boolean, what?: string): Promise<FixtureEvent>
  /** Resolves once the child exited and its last stdout line was read. */
  exited: Promise<FixtureExit>
  /** `performance.now()` when the child exited; `undefined` while it runs. */
  exitedAt(): number | undefined
  /** Everything the child wrote to stderr so far. */
  stderr(): string
  /** SIGKILLs the child (by its pid) if it still runs: for `finally` and `afterEach`. */
  kill(): void
  /** Calls `listener` with every event the child prints from now on. */
  onEvent(listener: (event: FixtureEvent) => void): void
  /** Writes `message` as one JSON line to the child's stdin (only with `stdin: true`). */
  command(message: unknown): void
}

export interface SpawnFixtureOptions {
  /** The runtime that runs the file. Default: `defaultRuntime()` (`LASTCALL_FIXTURE_RUNTIME`, else the Node running the tests). */
  runtime?: Runtime | undefined
  /** Added to the test process's environment. Default: nothing added. */
  env?: Record<string, string> | undefined
  /** Passed as JSON in `LASTCALL_FIXTURE`. Default: the variable is left as it is. */
  config?: unknown
  /** Keep a pipe to the child's stdin for `command()`. Default: `false` (stdin ignored). */
  stdin?: boolean | undefined
}

export interface StartFixtureOptions extends SpawnFixtureOptions {
  /** The event that says the fixture is ready. Default: `{"event":"listening",...}`. */
  ready?: ((event: FixtureEvent) => boolean) | undefined
}

/** A started fixture and the event that said it was ready. */
export interface StartedFixture extends Fixture {
  readyEvent: FixtureEvent
}

const running = new Set<ChildProcess>()

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL')
}

/**
 * Spawns `file` on the runtime and returns at once; the caller waits for
 * events with `waitFor()` and must `kill()` the child in a `finally` (or call
 * `killFixtures()` in `afterEach`). Throws, with the reason, when the runtime
 * cannot run here (Bun or Deno not installable).
 */
export function spawnFixture(file: string, options: SpawnFixtureOptions = {}): Fixture {
  const run = fixtureCommand(options.runtime ?? defaultRuntime(), file)
  if (run.skip !== undefined) throw new Error(run.skip)
  const [command, ...args] = run.command
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  if (options.config !== undefined) env.LASTCALL_FIXTURE = JSON.stringify(options.config)
  const child = spawn(command!, args, { env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  // A command written after the child died: the test sees the exit, not EPIPE.
  child.stdin?.on('error', () => {})
  const events: FixtureEvent[] = []
  const listeners: Array<(event: FixtureEvent) => void> = []
  const waiters: Array<{ match: (event: FixtureEvent) => boolean; resolve: (event: FixtureEvent) => void }> = []
  let stderr = ''
  let exitedAt: number | undefined
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: FixtureEvent
    try {
      event = JSON.parse(line) as FixtureEvent
    } catch {
      return
    }
    if (event === null || typeof event !== 'object') return
    events.push(event)
    for (const listener of listeners) listener(event)
    for (const waiter of [...waiters]) {
      if (!waiter.match(event)) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(event)
    }
  })
  const exited = (async (): Promise<FixtureExit> => {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
    exitedAt = performance.now()
    running.delete(child)
    // Let readline deliver the last lines before anyone reads `events`.
    if (!child.stdout!.readableEnded) await once(child.stdout!, 'end')
    return { code, signal }
  })()
  const fixture: Fixture = {
    child,
    events,
    waitFor(match, what = 'the awaited event') {
      const seen = events.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        void exited.then(({ code, signal }) => reject(new Error(`fixture ${file} exited (${code ?? signal}) before ${what}; stderr:\n${stderr}`)))
      })
    },
    exited,
    exitedAt: () => exitedAt,
    stderr: () => stderr,
    kill: () => killChild(child),
    onEvent: (listener) => void listeners.push(listener),
    command(message) {
      if (child.stdin === null) throw new Error('the fixture was not spawned with stdin: true')
      child.stdin.write(`${JSON.stringify(message)}\n`)
    },
  }
  running.add(child)
  return fixture
}

/**
 * Spawns `file` and resolves once it printed its ready event (by default
 * `{"event":"listening"}`); kills it and rejects if it exits first.
 */
export async function startFixture(file: string, { ready = (event) => event.event === 'listening', ...options }: StartFixtureOptions = {}): Promise<StartedFixture> {
  const fixture = spawnFixture(file, options)
  try {
    const readyEvent = await fixture.waitFor(ready, 'its ready event')
    return Object.assign(fixture, { readyEvent })
  } catch (error) {
    fixture.kill()
    throw error
  }
}

/** Kills (by pid) every fixture still running; for `afterEach`. */
export function killFixtures(): void {
  for (const child of running) killChild(child)
  running.clear()
}
