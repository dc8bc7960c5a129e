import type { ServerResponse } from 'node:http'
import { Http2ServerResponse, type ServerHttp2Stream } from 'node:http2'

/** Sent with every 503 lastcall answers (and by adapters for the requests they reject). */
export const RETRY_AFTER_SECONDS = 1

/** Why a request is answered 503: the service is shutting down, or the request passed `requestTimeoutMs`. */
export type UnavailableReason = 'shutting-down' | 'deadline'

const BODY: Readonly<Record<UnavailableReason, string>> = {
  'shutting-down': 'Service Unavailable: shutting down\n',
  deadline: 'Service Unavailable: request deadline passed\n',
}

/**
 * The headers of lastcall's 503, a new object each call. `Connection: close`
 * on HTTP/1 only: connection-specific headers are illegal in HTTP/2 (Node
 * drops them with a warning), where GOAWAY does that job. For adapters that
 * answer the 503 in their framework's own terms.
 */
export function unavailableHeaders(http2: boolean): Record<string, string> {
  const result: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': String(RETRY_AFTER_SECONDS) }
  if (!http2) result.Connection = 'close'
  return result
}

/** The text body of lastcall's 503 for `reason` (ends with a newline). */
export function unavailableBody(reason: UnavailableReason): string {
  return BODY[reason]
}

/** Answers 503 on a response whose head has not gone out (node:http, or HTTP/2's compatibility API). */
export function sendUnavailable(res: ServerResponse | Http2ServerResponse, reason: UnavailableReason): void {
  res.writeHead(503, unavailableHeaders(res instanceof Http2ServerResponse))
  res.end(BODY[reason])
}

/**
 * lastcall's 503 as a web `Response`, for fetch-style servers (`Bun.serve`,
 * `Deno.serve`) and adapters that answer with one. `http2`: leave out
 * `Connection: close` (illegal there).
 */
export function unavailableResponse(reason: UnavailableReason, options?: { http2?: boolean }): Response {
  return new Response(BODY[reason], { status: 503, headers: unavailableHeaders(options?.http2 === true) })
}

/** Answers 503 on an HTTP/2 stream whose head has not gone out. */
export function respondStreamUnavailable(stream: ServerHttp2Stream, reason: UnavailableReason): void {
  const lower = Object.fromEntries(Object.entries(unavailableHeaders(true)).map(([name, value]) => [name.toLowerCase(), value]))
  stream.respond({ ':status': 503, ...lower })
  stream.end(BODY[reason])
}

/** The raw HTTP/1.1 503 for a socket taken over by `upgrade` (no response object): an upgrade refused during the drain. */
export function rawUnavailable(reason: UnavailableReason): string {
  // Without the final newline, as this answer has always been sent.
  const body = BODY[reason].trimEnd()
  const lines = Object.entries({ ...unavailableHeaders(false), 'Content-Length': String(Buffer.byteLength(body)) }).map(([name, value]) => `${name}: ${value}\r\n`)
  return `HTTP/1.1 503 Service Unavailable\r\n${lines.join('')}\r\n${body}`
}
