/** How bad a finding is: an `error` makes `lastcall check --config` exit 1, a `warning` does not. */
export type Severity = 'error' | 'warning'

/** One problem found in a deployment file: where, what, with the numbers, and how to fix it. */
export interface ConfigFinding {
  severity: Severity
  /** Stable identifier, e.g. `grace-period-short`. */
  code: string
  /** The file, as given (or found under a directory given). */
  file: string
  /** What in the file: `Deployment/web container app`, `service app`, `[Service]`, `app api`. */
  where: string
  message: string
  fix: string
}

/** The platform a deployment file configures. */
export type ConfigKind = 'kubernetes' | 'compose' | 'dockerfile' | 'systemd' | 'pm2'

/** lastcall's bound on the whole shutdown and its parts, as core resolves them for one workload's environment. */
export interface ShutdownTiming {
  timeoutMs: number
  /** The shortest and longest readiness delay (equal for a fixed `readinessDelayMs`). */
  readinessDelayMinMs: number
  readinessDelayMaxMs: number
  drainTimeoutMs: number
  /** What `timeoutMs` leaves for cleanup hooks after the longest readiness delay and the drain. */
  hooksMs: number
  /** Room for the exit itself and the platform's own delays: core's `graceSafetyMarginMs()` of the shortest grace period `timeoutMs` fits in (1000 from a `timeoutMs` of 3000 up). */
  marginMs: number
}

/** The stop timing of one workload, as read from its file and lastcall's options. */
export interface StopTiming extends ShutdownTiming {
  kind: ConfigKind
  file: string
  where: string
  /** Time between the platform's stop signal (or preStop) and SIGKILL; null when the file cannot say. */
  gracePeriodMs: number | null
  /** Where the grace period comes from, e.g. `terminationGracePeriodSeconds: 45` or `default`. */
  gracePeriodFrom: string
  /** Spent before the signal arrives (a Kubernetes preStop hook). */
  beforeSignalMs: number
  /** The signal the platform sends first. */
  stopSignal: string
  /** beforeSignalMs + timeoutMs + marginMs: the grace period this workload needs. */
  neededMs: number
  /** The readiness probe's worst-case time to notice a failing readiness endpoint (Kubernetes). */
  probeDetectionMs?: number
}

export class FindingList {
  readonly items: ConfigFinding[] = []
  constructor(readonly file: string) {}

  error(where: string, code: string, message: string, fix: string): void {
    this.items.push({ severity: 'error', code, file: this.file, where, message, fix })
  }

  warn(where: string, code: string, message: string, fix: string): void {
    this.items.push({ severity: 'warning', code, file: this.file, where, message, fix })
  }
}

/** `12 s`, `1.6 s`, `250 ms`. */
export function seconds(ms: number): string {
  if (ms === Infinity) return 'infinity'
  if (ms < 1000 && ms !== 0) return `${ms} ms`
  return `${Number((ms / 1000).toFixed(3))} s`
}
