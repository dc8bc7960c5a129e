/**
 * The only module of this package that touches the process: Deno's signal
 * listeners (`Deno.addSignalListener`), its global `error` and
 * `unhandledrejection` events, `Deno.exit` and `Deno.exitCode`. It hands core's
 * process-wide `ProcessCoordinator` a `ProcessLike` built on them, so the
 * one-coordinator rules (a second signal exits at once with 128 + its number,
 * the same signal twice within 100 ms is one, several controllers exit once)
 * are core's, unchanged.
 */
import { LastcallOptionError } from '@lastcall/core'
import { ProcessCoordinator, type ProcessHost, type ProcessLike } from '@lastcall/core/adapter'
import { denoGlobal, type DenoNamespace } from '../deno.js'
import { NotDenoError } from '../errors.js'

type Listener = (...args: any[]) => void

/** The global events Deno fires (DOM-shaped: `error` is an ErrorEvent, `unhandledrejection` a PromiseRejectionEvent). */
interface GlobalEvent {
  preventDefault(): void
  readonly error?: unknown
  readonly reason?: unknown
  readonly promise?: Promise<unknown>
}
type GlobalListener = (event: GlobalEvent) => void
const globalTarget = globalThis as unknown as {
  addEventListener(type: string, listener: GlobalListener): void
  removeEventListener(type: string, listener: GlobalListener): void
}

/** Node's process events the coordinator listens to, and the global event Deno fires instead. */
const GLOBAL_EVENTS: Readonly<Record<string, string>> = { uncaughtException: 'error', unhandledRejection: 'unhandledrejection', exit: 'unload' }

/** `Deno.build.os` as Node's `process.platform` names it. */
function platformOf(os: string): NodeJS.Platform {
  return (os === 'windows' ? 'win32' : os) as NodeJS.Platform
}

/** The environment, or nothing when Deno was not allowed to read it (`--allow-env`): lastcall then detects no platform. */
function readEnv(deno: DenoNamespace): Record<string, string> {
  try {
    return deno.env.toObject()
  } catch {
    return {}
  }
}

/**
 * A `ProcessLike` on Deno's own process API. Exported for tests; apps get
 * it through `createShutdown()` and `gracefulShutdown()`.
 */
export function denoProcess(deno: DenoNamespace): ProcessLike {
  const env = readEnv(deno)
  const encoder = new TextEncoder()
  /** The wrapper registered with Deno for each listener the coordinator gave, by event. */
  const wrappers = new Map<string, Map<Listener, GlobalListener | (() => void)>>()
  const wrappersOf = (event: string): Map<Listener, GlobalListener | (() => void)> => {
    let map = wrappers.get(event)
    if (map === undefined) wrappers.set(event, (map = new Map()))
    return map
  }
  return {
    env,
    platform: platformOf(deno.build.os),
    pid: deno.pid,
    // Deno's node:process reports the Node version it is compatible with.
    nodeVersion: (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ?? '0.0.0',
    get exitCode() {
      return deno.exitCode
    },
    set exitCode(code) {
      deno.exitCode = Number(code ?? 0)
    },
    on(event, listener) {
      const global = GLOBAL_EVENTS[event]
      if (global === undefined) {
        const handler = (): void => listener()
        try {
          deno.addSignalListener(event, handler)
        } catch (error) {
          throw new LastcallOptionError('signals', event, `a signal Deno can listen for on ${deno.build.os} (Deno.addSignalListener threw: ${error instanceof Error ? error.message : String(error)})`)
        }
        wrappersOf(event).set(listener, handler)
        return
      }
      const handler: GlobalListener = (e) => {
        if (event === 'exit') return listener(deno.exitCode)
        // Handled: the default (print and exit 1) would end the process before its shutdown.
        e.preventDefault()
        if (event === 'uncaughtException') listener(e.error)
        else listener(e.reason, e.promise)
      }
      globalTarget.addEventListener(global, handler)
      wrappersOf(event).set(listener, handler)
    },
    removeListener(event, listener) {
      const handler = wrappers.get(event)?.get(listener)
      if (handler === undefined) return
      wrappers.get(event)!.delete(listener)
      const global = GLOBAL_EVENTS[event]
      if (global === undefined) deno.removeSignalListener(event, handler as () => void)
      else globalTarget.removeEventListener(global, handler as GlobalListener)
    },
    exit: (code) => deno.exit(code),
    now: () => performance.now(),
    stderr(line) {
      try {
        deno.stderr.writeSync(encoder.encode(`${line}\n`))
      } catch {
        // Standard error is gone too: nowhere is left to say it.
      }
    },
  }
}

let host: ProcessCoordinator | undefined

/**
 * The process-wide host on Deno: created on first use (importing the package
 * installs nothing), one per process, so every controller made by this
 * package shares it. Throws `NotDenoError` on another runtime.
 */
export function denoHost(): ProcessHost {
  if (host !== undefined) return host
  const deno = denoGlobal()
  if (deno === undefined) throw new NotDenoError('the Deno process host')
  host = new ProcessCoordinator(denoProcess(deno))
  return host
}
