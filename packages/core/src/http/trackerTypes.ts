import type { IncomingHttpHeaders } from 'node:http'

/*
 * What the connection tracker counts and is configured with: shared with the
 * native servers' drain (`nativeServers.ts`), the shutdown sequence and the report.
 */

/** How a tracked connection speaks. */
export type ConnectionKind = 'http1' | 'h2' | 'upgraded'

export interface RequestCounts {
  /** Requests in flight when the drain started. */
  inFlightAtDrain: number
  /** Requests that arrived after shutdown started (readiness delay and drain). */
  arrivedDuringShutdown: number
  /** Responses that finished after shutdown started. */
  completed: number
  /** Responses rejected by an adapter (503) after shutdown started. */
  rejected: number
  /** Requests the client gave up on after shutdown started. */
  aborted: number
  /** Requests still in flight at the drain deadline, cut off. */
  forced: number
  /** Requests that passed `requestTimeoutMs` after shutdown started. */
  timedOut: number
}

export interface ConnectionCounts {
  /** Connections open when the drain started. */
  openAtDrain: number
  /** Closed by lastcall after lingering idle. */
  closedIdle: number
  /**
   * Closed after their last response: HTTP/1.1 with `Connection: close` or by
   * ending the socket, HTTP/2 after GOAWAY and its last stream, WebSocket
   * after the close handshake (code 1001).
   */
  closedAfterResponse: number
  /** Closed by the client during the drain. */
  closedByClient: number
  /**
   * Destroyed at the drain deadline, and WebSocket clients terminated because
   * they did not answer the close frame within `webSocketCloseTimeoutMs`.
   */
  forced: number
  /** Connections closed during the drain, by kind. */
  byKind: Record<ConnectionKind, number>
}

/** What the `onRequest` observer sees of a request: an `http` request, or the head of an HTTP/2 stream. */
export interface ArrivingRequest {
  readonly url?: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly socket: { readonly remoteAddress?: string | undefined }
}

export interface TrackerOptions {
  /** Also bounds the PING round trip of the HTTP/2 two-step GOAWAY. */
  lingerMs: number
  /** How long a WebSocket client gets to answer the close frame. */
  webSocketCloseTimeoutMs: number
  /** Per-request deadline; undefined for none. */
  requestTimeoutMs: number | undefined
  /** Aborts when the drain starts; every request's signal follows it. */
  drainSignal: AbortSignal
  /** Called for every request (HTTP/2: every stream) as it arrives, before the application sees it. */
  onRequest?: ((req: ArrivingRequest) => void) | undefined
  /** Called when a request passes its deadline, before it is answered or cut off. */
  onRequestTimeout?: (req: { method?: string | undefined; url?: string | undefined }) => void
  /**
   * Whether a request arriving now is to be rejected (503). Asked for
   * requests that carry `Expect: 100-continue`, so they are refused before
   * the client is invited to send its body.
   */
  shouldReject?: (() => boolean) | undefined
  /** Advertise `Keep-Alive: timeout=1` from `leaving()` on (the `keepAliveHint` option). */
  keepAliveHint?: boolean | undefined
  /** Whether a URL is one of the probe endpoints: their responses never carry the keep-alive hint. */
  isProbe?: ((url: string | undefined) => boolean) | undefined
  /** Told when a server could only be stopped in a way that may reset idle keep-alive connections (Bun, see `stopBunListener`). */
  onNote?: ((message: string) => void) | undefined
}
