/**
 * Bounded keep-alive load on 127.0.0.1 for the platform tests: each client
 * sends one request after another on its own keep-alive connection, pausing
 * `pauseMs` between them so two shared cores are not saturated, and stops at
 * `maxRequests` (all clients together), when `signal` aborts, or (with
 * `stopOnRefused`) when nothing listens any more.
 */
import { setTimeout as pause } from 'node:timers/promises'
import { connectionAgent, send, tally, type OutcomeKind, type RequestOutcome } from '@lastcall/testing'

export interface PacedLoadOptions {
  port: number
  connections: number
  pauseMs: number
  maxRequests: number
  signal?: AbortSignal
  /** A client stops once its connection is refused (a direct client with nowhere else to go). */
  stopOnRefused?: boolean
  onOutcome?: (outcome: RequestOutcome) => void
  /** @default '/' */
  path?: string
  /** `false`: every request on a connection of its own, closed after the response. @default true */
  keepAlive?: boolean
}

export async function pacedLoad(options: PacedLoadOptions): Promise<{ outcomes: RequestOutcome[]; counts: Record<OutcomeKind, number> }> {
  const outcomes: RequestOutcome[] = []
  let budget = options.maxRequests
  const client = async (): Promise<void> => {
    const agent = options.keepAlive === false ? false : connectionAgent()
    try {
      while (budget-- > 0 && !options.signal?.aborted) {
        const outcome = await send({ port: options.port, path: options.path ?? '/', agent, timeoutMs: 15_000 })
        outcomes.push(outcome)
        options.onOutcome?.(outcome)
        if (outcome.kind === 'refused' && options.stopOnRefused) return
        if (options.pauseMs > 0) await pause(options.pauseMs, undefined, { signal: options.signal }).catch(() => {})
      }
    } finally {
      if (agent) agent.destroy()
    }
  }
  await Promise.all(Array.from({ length: options.connections }, client))
  return { outcomes, counts: tally(outcomes) }
}

/** Outcomes that lose a request: everything but completed and refused (a refused connect sent nothing). */
export function lost(counts: Record<OutcomeKind, number>): number {
  return counts.rejected + counts['reset-reused'] + counts['reset-new'] + counts.hung
}

/**
 * A container's stop under load: `clients` direct keep-alive clients (each
 * stops at its first refused connect: nothing listens any more), `stop()`
 * run once 200 requests were answered. Resolves with what the clients saw and
 * how long `stop()` took.
 */
export async function stopUnderDirectLoad(port: number, clients: number, stop: () => Promise<unknown>): Promise<{ stopMs: number; t0: number; outcomes: RequestOutcome[]; counts: Record<OutcomeKind, number> }> {
  let warm!: () => void
  const warmed = new Promise<void>((resolve) => (warm = resolve))
  let answered = 0
  const load = pacedLoad({
    port, connections: clients, pauseMs: 5, maxRequests: 100_000, stopOnRefused: true,
    onOutcome: (o) => {
      if (o.kind === 'completed' && ++answered === 200) warm()
    },
  })
  await warmed
  const t0 = performance.now()
  await stop()
  const stopMs = Math.round(performance.now() - t0)
  return { stopMs, t0, ...(await load) }
}
