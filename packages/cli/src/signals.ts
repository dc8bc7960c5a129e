/**
 * Every process the CLI touches goes through here: the app it starts (in its
 * own process group, so children the app spawns are stopped too) and the
 * CLI's own signals and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface AppExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnedApp {
  readonly pid: number
  readonly exited: Promise<AppExit>
  /** Whether the app's main process is still running. */
  readonly running: boolean
  readonly stdout: string[]
  readonly stderr: string[]
  /** Signals the app's main process only, as a container runtime or Kubernetes does. */
  signal(signal: NodeJS.Signals): void
  /** SIGKILLs the whole process group (the app and whatever it started). */
  killGroup(): void
}

/** Lines of output kept per stream, newest last. */
const KEEP_LINES = 200

export function spawnApp(command: readonly string[], env: NodeJS.ProcessEnv, cwd: string | undefined): SpawnedApp {
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(cwd ? { cwd } : {}),
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const keep = (list: string[]) => (line: string) => {
    list.push(line)
    if (list.length > KEEP_LINES) list.shift()
  }
  createInterface({ input: child.stdout! }).on('line', keep(stdout))
  createInterface({ input: child.stderr! }).on('line', keep(stderr))
  let running = true
  const exited = new Promise<AppExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false
      resolve({ code, signal })
    })
    // spawn failed (command not found): reported as an exit with no code.
    child.once('error', (error) => {
      running = false
      stderr.push(String(error))
      resolve({ code: null, signal: null })
    })
  })
  const pid = child.pid ?? -1
  return {
    pid,
    exited,
    get running() {
      return running
    },
    stdout,
    stderr,
    signal: (signal) => {
      if (running) child.kill(signal)
    },
    killGroup: () => {
      if (pid <= 0) return
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // ESRCH: the group is already gone.
      }
    },
  }
}

/** Runs `onSignal` when the CLI itself gets SIGINT or SIGTERM (to stop the app before leaving). */
export function onCliSignal(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals): void => onSignal(signal)
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}

export function exitCli(code: number): void {
  process.exitCode = code
}

export function exitCliNow(code: number): never {
  process.exit(code)
}
