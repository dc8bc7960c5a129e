import { constants, Http2ServerRequest, Http2ServerResponse, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { Clock } from '../clock.js'
import { respondStreamUnavailable, type UnavailableReason } from './serviceUnavailable.js'

/**
 * The highest stream id HTTP/2 allows. A first GOAWAY carrying it tells the
 * client to open no more streams while promising to still process any it has
 * already sent.
 */
const MAX_STREAM_ID = 2 ** 31 - 1

/**
 * Closes an HTTP/2 session the graceful way (RFC 9113 §6.8), so no stream a
 * client already sent is refused and none in flight is cut:
 *
 * 1. GOAWAY(NO_ERROR) with the maximum stream id: the client stops opening
 *    streams here (Node's own client closes its session on receipt).
 * 2. One PING round trip: once its ack is back, every stream the client sent
 *    before it saw the GOAWAY has arrived.
 * 3. `session.close()`: the final GOAWAY with the real last stream id; streams
 *    in flight finish, and the session ends right after the last one.
 *
 * `Http2Server.close()` does none of this: it sends no GOAWAY and waits for
 * open sessions without limit. A client that never answers the PING is waited
 * for `pingTimeoutMs` at most.
 */
export function closeSessionGracefully(session: Http2Session, clock: Clock, pingTimeoutMs: number): void {
  if (session.closed || session.destroyed) return
  session.goaway(constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID)
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    clock.clearTimeout(timer)
    if (!session.closed && !session.destroyed) session.close()
  }
  const timer = clock.setTimeout(close, pingTimeoutMs)
  // `ping` returns false (and never calls back) when too many are unanswered.
  if (!session.ping(close)) close()
}

/** Whether a stream ended the normal way, rather than reset by either side. */
export function streamCompleted(stream: ServerHttp2Stream): boolean {
  return stream.rstCode === constants.NGHTTP2_NO_ERROR
}

/**
 * Answers a stream that passed its deadline: 503 with `Retry-After` if no
 * response head went out yet, or a reset (CANCEL) of that stream alone when
 * half a response is out. The session and its other streams live on.
 */
export function abandonStream(stream: ServerHttp2Stream, reason: UnavailableReason): void {
  if (stream.destroyed || stream.closed) return
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_CANCEL)
    return
  }
  respondStreamUnavailable(stream, reason)
}

/**
 * Whether a response object belongs to the HTTP/2 compatibility API. Its
 * requests are counted from their stream, and it must never be given
 * `Connection` headers: connection-specific headers are illegal in HTTP/2
 * (Node drops them with a warning).
 */
export function isHttp2Response(res: object): res is Http2ServerResponse {
  return res instanceof Http2ServerResponse
}

/** The stream behind an HTTP/2 compatibility request, or the object itself. */
export function requestKey(req: object): object {
  return req instanceof Http2ServerRequest ? req.stream : req
}
