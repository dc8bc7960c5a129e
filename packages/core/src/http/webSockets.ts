import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Clock, TimerHandle } from '../clock.js'

/**
 * The parts of a `ws` WebSocket lastcall uses. Structural on purpose: `ws` is
 * an optional peer dependency and core never loads it.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the `ws` and browser values). */
  readonly readyState: number
  close(code?: number, reason?: string): void
  terminate(): void
  once(event: 'close', listener: () => void): unknown
}

/** The parts of a `ws` `WebSocketServer` lastcall uses. */
export interface WebSocketServerLike {
  /** Absent when the server was created with `clientTracking: false`. */
  readonly clients?: ReadonlySet<WebSocketLike> | undefined
  on(event: 'connection', listener: (socket: WebSocketLike, request: IncomingMessage) => void): unknown
}

const OPEN = 1
const CLOSED = 3
/** RFC 6455 §7.4.1: the endpoint is going away (server shutting down). */
export const GOING_AWAY = 1001
export const GOING_AWAY_REASON = 'server shutting down'

export interface WebSocketDrainEvents {
  /** A close frame went to the client on this socket (undefined when the socket is unknown). */
  closing(socket: Socket | undefined): void
  /** The client did not finish the close handshake in time; its socket is being destroyed. */
  terminating(socket: Socket | undefined): void
}

/**
 * Closes the clients of the `ws` servers handed to it when the drain starts:
 * close code 1001 with a reason, then `terminate()` for every client that has
 * not finished the close handshake `closeTimeoutMs` later (`ws` alone would
 * wait 30 s, and `wss.close()` leaves clients connected).
 */
export class WebSocketDrain {
  readonly #clock: Clock
  readonly #closeTimeoutMs: number
  readonly #events: WebSocketDrainEvents
  readonly #servers: WebSocketServerLike[] = []
  /** The socket under each client, learnt from the `connection` event, for the report. */
  readonly #sockets = new WeakMap<WebSocketLike, Socket>()
  /** Clients of servers without `clientTracking`, which keep no `clients` set of their own. */
  readonly #untracked = new Set<WebSocketLike>()
  #draining = false
  #timer: TimerHandle | undefined

  constructor(clock: Clock, closeTimeoutMs: number, events: WebSocketDrainEvents) {
    this.#clock = clock
    this.#closeTimeoutMs = closeTimeoutMs
    this.#events = events
  }

  add(wss: WebSocketServerLike): void {
    if (this.#servers.includes(wss)) return
    this.#servers.push(wss)
    wss.on('connection', (ws, req) => {
      this.#sockets.set(ws, req.socket)
      if (wss.clients === undefined) {
        this.#untracked.add(ws)
        ws.once('close', () => this.#untracked.delete(ws))
      }
      // A handshake that began before the drain and finished after it gets
      // the same close timeout as everyone else, counted from now.
      if (this.#draining) {
        this.#close(ws)
        this.#clock.setTimeout(() => this.#terminate(ws), this.#closeTimeoutMs)
      }
    })
    if (this.#draining) this.drain()
  }

  /** Sends every client close code 1001, and terminates the slow ones after the close timeout. */
  drain(): void {
    this.#draining = true
    for (const ws of this.#clients()) this.#close(ws)
    this.#timer ??= this.#clock.setTimeout(this.#terminateSlow, this.#closeTimeoutMs)
  }

  /** The deadline: terminates whatever is left. */
  force(): void {
    this.stop()
    for (const ws of this.#clients()) if (ws.readyState !== CLOSED) ws.terminate()
  }

  /** Clears the close timer (the drain is over). */
  stop(): void {
    if (this.#timer === undefined) return
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #clients(): Set<WebSocketLike> {
    const all = new Set(this.#untracked)
    for (const wss of this.#servers) for (const ws of wss.clients ?? []) all.add(ws)
    return all
  }

  #close(ws: WebSocketLike): void {
    if (ws.readyState === OPEN) {
      ws.close(GOING_AWAY, GOING_AWAY_REASON)
      this.#events.closing(this.#sockets.get(ws))
    }
  }

  #terminate(ws: WebSocketLike): void {
    if (ws.readyState === CLOSED) return
    this.#events.terminating(this.#sockets.get(ws))
    ws.terminate()
  }

  readonly #terminateSlow = (): void => {
    this.#timer = undefined
    for (const ws of this.#clients()) this.#terminate(ws)
  }
}
