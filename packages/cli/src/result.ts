// What a check found: the shapes `check()` returns and `verdict()` reads.
import type { OutcomeKind } from '@lastcall/testing'
import type { Http2Result } from './http2.js'
import type { AppExit } from './signals.js'
import type { WebSocketResult } from './webSocket.js'

/** One problem the check found: what happened and how to fix it. */
export interface Finding {
  /** Stable identifier, e.g. `reset-reused`. */
  code: string
  message: string
  fix: string
}

export type Phase = 'starting' | 'ready' | 'loading' | 'sigterm' | 'not-ready' | 'listener-closed' | 'load-stopped' | 'exited' | 'killed' | 'done'

export interface Progress {
  phase: Phase
  /** Milliseconds since the check started. */
  atMs: number
  counts: Record<OutcomeKind, number>
  /** A human note for the phase (e.g. the port, the exit code). */
  note?: string
}

export interface CheckResult {
  /** No failure found. */
  ok: boolean
  command: readonly string[]
  port: number
  pid: number
  /** Milliseconds the app took to answer after it was started; `null` if it never did. */
  startupMs: number | null
  readiness: {
    path: string
    /** Whether the app has a readiness endpoint (`path` did not answer 404). */
    endpoint: boolean
    /** Milliseconds from SIGTERM to the first failing readiness answer; `null` if it never failed. */
    failedAfterMs: number | null
    /** Milliseconds from SIGTERM to the first refused connection (listener closed or process gone); `null` if never. */
    listenerClosedAfterMs: number | null
    /** Whether readiness failed before the listener closed (`null` when there is no endpoint). */
    failedBeforeClose: boolean | null
  }
  /** Milliseconds from the start of the load to SIGTERM; `null` if the app exited first. */
  sigtermAtMs: number | null
  exit: AppExit & {
    /** Milliseconds from SIGTERM to exit. */
    afterMs: number | null
    /** Whether it had to be SIGKILLed at `exitTimeoutMs`. */
    killed: boolean
  }
  requests: {
    total: number
    byKind: Record<OutcomeKind, number>
    /** The same, for requests whose outcome came after SIGTERM. */
    afterSigterm: Record<OutcomeKind, number>
    /** Full responses by status. */
    statuses: Record<string, number>
    /** 503 responses without `Retry-After`. */
    rejectedWithoutRetryAfter: number
  }
  http2?: Http2Result
  ws?: WebSocketResult
  failures: Finding[]
  warnings: Finding[]
  /** The app's last lines of stderr. */
  stderrTail: string[]
  /** Milliseconds the check took. */
  durationMs: number
}
