import { LastcallOptionError } from '@lastcall/core'
import type { Agent } from 'node:http'
import { connectionAgent, send, type RequestOutcome } from './request.js'

/** One kind of request in the load's mix. */
export interface LoadRequest {
  /** @default 'GET' */
  method?: string
  path: string
  body?: string
}

export interface LoadOptions {
  /** Port on 127.0.0.1. */
  port: number
  /**
   * Simulated client connections. Each sends one request after another over
   * its own keep-alive connection, as a pooled client or a balancer does.
   * @default 4
   */
  connections?: number
  /**
   * The request mix. Connection `i` starts at entry `i` and cycles through
   * it, so fast and slow requests are in flight at once. Put a streaming or
   * early-flushing route in it (head sent before the end): each connection
   * sends its next request the moment a response ends, the case where a drain
   * that closes a socket after its response resets a request it then ran.
   * @default [{ path: '/' }, { method: 'POST', path: '/', body: '{}' }]
   */
  requests?: readonly LoadRequest[]
  /**
   * A request without a full response after this long is counted `hung`.
   * @default 5000
   */
  requestTimeoutMs?: number
  /**
   * Bound on the number of requests sent, across connections.
   * @default 100000
   */
  maxRequests?: number
  /** Stops sending new requests when it aborts; requests in flight finish (or hang to their bound). */
  signal?: AbortSignal
  /** Extra headers on every request. */
  headers?: Record<string, string>
  /**
   * Keep the connections open after the load stopped until this settles, as
   * a balancer's pool does (so a server waiting for idle connections shows
   * it). By default they close as soon as the load stops.
   */
  holdOpen?: Promise<unknown>
  /** Called with every outcome as it is known. */
  onOutcome?: (outcome: RequestOutcome, connection: number) => void
}

export interface LoadResult {
  outcomes: RequestOutcome[]
  /** Why each connection stopped: `'signal'`, `'refused'` or `'max'`. */
  stopped: Array<'signal' | 'refused' | 'max'>
}

const DEFAULT_MIX: readonly LoadRequest[] = [{ path: '/' }, { method: 'POST', path: '/', body: '{}' }]

/**
 * Keep-alive load on a server on 127.0.0.1. A connection stops once it is
 * refused (nothing listens any more), when `signal` aborts, or at
 * `maxRequests`. Resolves when every connection has stopped.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, connections = 4, requests = DEFAULT_MIX, requestTimeoutMs = 5000, maxRequests = 100_000, signal, headers, holdOpen, onOutcome } = options
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new LastcallOptionError('port', port, 'an integer from 1 to 65535')
  if (!Number.isInteger(connections) || connections < 1 || connections > 1000) throw new LastcallOptionError('connections', connections, 'an integer from 1 to 1000')
  if (!Array.isArray(requests) || requests.length === 0) throw new LastcallOptionError('requests', requests, 'a non-empty array of { method?, path, body? }')
  if (!Number.isInteger(maxRequests) || maxRequests < 1) throw new LastcallOptionError('maxRequests', maxRequests, 'a positive integer')

  const outcomes: RequestOutcome[] = []
  let budget = maxRequests
  const worker = async (index: number): Promise<'signal' | 'refused' | 'max'> => {
    const agent = connectionAgent()
    agents.push(agent)
    {
      for (let n = index; ; n++) {
        if (signal?.aborted) return 'signal'
        if (budget <= 0) return 'max'
        budget--
        const spec = requests[n % requests.length]!
        const outcome = await send({
          port,
          path: spec.path,
          method: spec.method ?? 'GET',
          ...(spec.body === undefined ? {} : { body: spec.body }),
          ...(headers ? { headers } : {}),
          agent,
          timeoutMs: requestTimeoutMs,
        })
        outcomes.push(outcome)
        onOutcome?.(outcome, index)
        if (outcome.kind === 'refused') return 'refused'
      }
    }
  }
  const agents: Agent[] = []
  const close = (): void => agents.forEach((a) => a.destroy())
  try {
    const stopped = await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)))
    return { outcomes, stopped }
  } finally {
    if (holdOpen) holdOpen.then(close, close)
    else close()
  }
}
