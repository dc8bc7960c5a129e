import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from './clock.js'
import type { Log } from './logger.js'

/** Options of the health, readiness and startup endpoints. (Being built: issue #5.) */
export interface ProbeOptions {
  /**
   * Whether error details of failing checks appear in probe responses. They always go to the log.
   * @default false
   */
  exposeDetails?: boolean
}

export type ProbeState = 'starting' | 'serving' | 'shutting-down'

export interface ProbeDeps {
  /** The controller's lifecycle as probes see it. */
  state: () => ProbeState
  clock: Clock
  log: Log
}

/**
 * The probe endpoints. `handle()` answers a probe request and returns true,
 * or returns false for any other request.
 */
export class Probes {
  constructor(_options: ProbeOptions, _deps: ProbeDeps) {}

  handle(_req: IncomingMessage, _res: ServerResponse): boolean {
    return false
  }

  /** Runs the startup checks; resolves true when all pass. */
  async startupPassed(): Promise<boolean> {
    return true
  }
}
