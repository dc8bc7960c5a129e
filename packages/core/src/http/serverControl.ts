import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Server as HttpsServer } from 'node:https'
import { Server as NetServer } from 'node:net'
import type { FirstLook } from './requestsFirst.js'
import { stopBunListener } from './stopBunListener.js'

/*
 * What the connection tracker does to a server itself, rather than to its
 * connections: stop its listener without touching them, let each connection
 * serve one more request once the drain starts, answer `Expect: 100-continue`.
 */

/** A server the tracker drains. */
export interface ServerEntry {
  server: NetServer
  closed: boolean
  /** Answers probes and 503s at the server, before the application (`attach(server, { admit })`). */
  admit: FirstLook | undefined
}

/**
 * Node answers `Expect: 100-continue` with `100 Continue` by itself before
 * the application sees the request, unless the server has a `checkContinue`
 * listener. This one (only while the application has none of its own) calls
 * `refuse` for a request lastcall rejects, before inviting its body, and
 * otherwise does exactly what Node does.
 */
export function answerExpectContinue(server: HttpServer | HttpsServer, rejecting: () => boolean, refuse: (req: IncomingMessage, res: ServerResponse) => void): void {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (!rejecting()) {
      res.writeContinue()
      server.emit('request', req, res)
      return
    }
    refuse(req, res)
  }
  if (server.listenerCount('checkContinue') === 0) server.on('checkContinue', listener)
  server.on('newListener', (name: string | symbol, added: unknown) => {
    if (name === 'checkContinue' && added !== listener) server.removeListener('checkContinue', listener)
  })
}

/**
 * From the drain on, each keep-alive connection serves one more request
 * (with `Connection: close`) and no other. RFC 9112 forbids processing
 * requests received after a response that announced the close, but Node runs
 * handlers for pipelined requests already read behind it and then drops their
 * responses with the socket. `maxRequestsPerSocket`, counted from the moment
 * it is set, makes Node itself refuse those (503, `dropRequest`, handler not
 * run); the client sees the close and may safely resend them. A limit the
 * application set itself is left alone.
 */
export function oneMoreRequest(server: NetServer): void {
  if (!(server instanceof HttpServer || server instanceof HttpsServer)) return
  const http = server as HttpServer
  if (!((http.maxRequestsPerSocket ?? 0) > 0)) http.maxRequestsPerSocket = 1
}

/**
 * Stops accepting new connections without touching open ones. On Node ≥ 19
 * `http.Server.prototype.close()` also destroys every connection idle at that
 * instant, including one a client is about to reuse: the keep-alive race.
 * `net.Server`'s own `close` has no such side effect. Bun's `node:http`
 * Server is no `net.Server`: `stopBunListener` stops it without the sweep.
 */
export function stopListening(entry: ServerEntry, onNote: ((message: string) => void) | undefined): void {
  // A server that never listened emits no 'close' until it is closed; there
  // is nothing to wait for.
  if (!entry.server.listening) entry.closed = true
  else if (entry.server instanceof NetServer) NetServer.prototype.close.call(entry.server)
  else {
    const note = stopBunListener(entry.server)
    if (note !== undefined) onNote?.(note)
  }
}
