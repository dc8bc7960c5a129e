import type { IncomingMessage } from 'node:http'
import { LastcallError, LastcallOptionError, type HookContext, type HookOptions, type ShutdownHook } from '@lastcall/core'

/**
 * What `attachSocketIo` needs from the controller. A `ShutdownController`
 * from `@lastcall/core`, or the controller of any adapter, fits.
 */
export interface SocketIoShutdownHost {
  readonly options: { readonly drainTimeoutMs: number; readonly idleLingerMs: number }
  onShutdown(name: string, fn: ShutdownHook, options?: HookOptions): () => void
}

/** The parts of an engine.io connection (`socket.conn`) used. Structural: `socket.io` is an optional peer. */
export interface EngineConnectionLike {
  readonly readyState: string
  /** engine.io's transport: `writable` is true while a long poll is pending; `ready` is emitted when one arrives. */
  readonly transport: {
    readonly name: string
    readonly writable: boolean
    on(event: 'ready', listener: () => void): unknown
    off(event: 'ready', listener: () => void): unknown
  }
  close(discard?: boolean): unknown
  once(event: 'close', listener: (reason: string) => void): unknown
}

/** The parts of engine.io's server (`io.engine`) used. */
export interface EngineServerLike {
  readonly opts: { allowRequest?: ((req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void) | undefined }
  on(event: 'connection', listener: (connection: any) => void): unknown
}

/** The parts of a Socket.IO socket used. */
export interface SocketIoSocketLike {
  readonly conn: EngineConnectionLike
  use(middleware: (packet: any[], next: (error?: Error) => void) => void): unknown
  once(event: 'disconnect', listener: (...args: any[]) => void): unknown
}

/** The parts of a Socket.IO namespace used. */
export interface SocketIoNamespaceLike {
  on(event: 'connection', listener: (socket: any) => void): unknown
}

/** The parts of a Socket.IO `Server` used. */
export interface SocketIoServerLike {
  /** Present once the server is attached to an HTTP server (`new Server(httpServer)`, `io.attach()`, `io.listen()`). */
  readonly engine: EngineServerLike | undefined
  readonly sockets: SocketIoNamespaceLike
  on(event: 'new_namespace', listener: (namespace: any) => void): unknown
}

export interface AttachSocketIoOptions {
  /**
   * How long, from the start of the drain, a client's events that wait for an
   * acknowledgement get to be answered before the client is disconnected
   * anyway (those acknowledgements are counted as cut off). A client with no
   * acknowledgement pending is disconnected at once.
   * @default 1000, or the drain timeout when that is less
   */
  ackTimeoutMs?: number
  /**
   * How long disconnected clients get to be gone (a polling client's close
   * waits for its next poll) before what is left is closed by force and
   * counted. The hook's timeout is set to it, so a phase's or the shutdown's
   * `timeoutMs` still bounds it: the force comes a little (at most 200 ms)
   * before the earliest of them.
   * @default the controller's `drainTimeoutMs`
   */
  drainTimeoutMs?: number
  /**
   * The hook's name in the report; unique per controller.
   * @default 'socket.io'
   */
  name?: string
  /**
   * The phase the drain runs in; one that starts with the drain.
   * @default 'intake'
   */
  phase?: string
}

/** What became of the clients connected when the drain started, and of their acknowledgements. */
export interface SocketIoDrainCounts {
  /** Engine.io connections open when the drain started (one per client, whatever its namespaces). */
  clientsAtDrain: number
  /** Connections closed by the drain (the client sees "transport close" and reconnects) and gone before the deadline. */
  moved: number
  /**
   * Of `moved`, long-polling connections with no poll pending at the drain whose next poll did not come back
   * within the controller's `idleLingerMs` (behind a balancer it went to another instance): closed without the
   * close packet. The client's next poll fails and it reconnects ("transport error").
   */
  pollsDiscarded: number
  /** Connections still open at the deadline, closed by force. */
  forced: number
  /** New connections refused during the drain (handshakes that came in on a connection kept alive). */
  refused: number
  /** Events waiting for an acknowledgement when the drain started. */
  acksAtDrain: number
  /** Acknowledgements sent during the drain. */
  acksAnswered: number
  /** Acknowledgements still pending when their client was disconnected. */
  acksCut: number
}

export interface SocketIoDrain {
  /** What happened during the drain; all zero before it. */
  readonly counts: Readonly<SocketIoDrainCounts>
  /** Events waiting for an acknowledgement right now (namespaces created after the call, and the main one). */
  readonly pendingAcks: number
}

const KEYS = new Set(['ackTimeoutMs', 'drainTimeoutMs', 'name', 'phase'])

/** The refusal message a handshake gets during the drain (engine.io answers 403 with it). */
export const DRAINING_MESSAGE = 'server shutting down'

function assertMs(where: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new LastcallOptionError(where, value, 'a finite number of milliseconds above 0')
  }
}

/**
 * Moves a Socket.IO server's clients to another instance when the drain
 * starts (a hook in the `intake` phase):
 *
 * 1. new handshakes are refused (the HTTP listener is already closed by the
 *    controller; this covers a handshake sent on a connection kept alive);
 * 2. a client with no event awaiting an acknowledgement is disconnected at
 *    once; one with some is disconnected when the last is answered, or at
 *    `ackTimeoutMs`;
 * 3. the disconnect closes the underlying engine.io connection, not the
 *    Socket.IO socket: the client sees `"transport close"` and reconnects by
 *    itself (a server-side `socket.disconnect()` gives `"io server
 *    disconnect"`, which socket.io-client does not retry);
 * 4. at `drainTimeoutMs` whatever is still open is closed by force. Forced
 *    clients and cut-off acknowledgements fail the hook, so the exit code says so.
 *
 * Namespaces created before this call, other than the main one, are drained
 * but their acknowledgements are not waited for: call it right after creating the server.
 */
export function attachSocketIo(shutdown: SocketIoShutdownHost, io: SocketIoServerLike, options?: AttachSocketIoOptions): SocketIoDrain {
  if ((typeof shutdown !== 'object' && typeof shutdown !== 'function') || shutdown === null || typeof shutdown.onShutdown !== 'function') {
    throw new LastcallOptionError('attachSocketIo(shutdown)', shutdown, 'a shutdown controller (createShutdown() from @lastcall/core)')
  }
  if (typeof io !== 'object' || io === null || typeof io.on !== 'function' || typeof io.sockets?.on !== 'function') {
    throw new LastcallOptionError('attachSocketIo(io)', io, 'a Socket.IO Server (new Server() from socket.io)')
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new LastcallOptionError('attachSocketIo(options)', options, `an object { ${[...KEYS].join('?, ')}? }`)
  }
  const o = options ?? {}
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new LastcallOptionError(`attachSocketIo(options).${key}`, (o as Record<string, unknown>)[key], `one of the known options (${[...KEYS].join(', ')})`)
  }
  if (o.drainTimeoutMs !== undefined) assertMs('attachSocketIo(options).drainTimeoutMs', o.drainTimeoutMs)
  if (o.ackTimeoutMs !== undefined) assertMs('attachSocketIo(options).ackTimeoutMs', o.ackTimeoutMs)
  if (o.name !== undefined && typeof o.name !== 'string') throw new LastcallOptionError('attachSocketIo(options).name', o.name, 'a string')
  if (o.phase !== undefined && typeof o.phase !== 'string') throw new LastcallOptionError('attachSocketIo(options).phase', o.phase, 'a phase name')
  const drainTimeoutMs = o.drainTimeoutMs ?? shutdown.options.drainTimeoutMs
  const ackTimeoutMs = o.ackTimeoutMs ?? Math.min(1000, drainTimeoutMs)
  const name = o.name ?? 'socket.io'

  const counts: SocketIoDrainCounts = { clientsAtDrain: 0, moved: 0, pollsDiscarded: 0, forced: 0, refused: 0, acksAtDrain: 0, acksAnswered: 0, acksCut: 0 }
  /** Acknowledgements pending, per engine.io connection. */
  const pending = new Map<EngineConnectionLike, number>()
  let pendingTotal = 0
  let draining = false
  /** Connections the drain is waiting on: closed (or to be closed) and not yet gone. */
  const leaving = new Set<EngineConnectionLike>()
  /** Connections whose close waits for their acknowledgements. */
  const waitingForAcks = new Set<EngineConnectionLike>()
  let allGone: (() => void) | undefined

  /** Closes that wait for the client's next poll, each with its stop function. */
  const lingering = new Map<EngineConnectionLike, () => void>()
  const close = (conn: EngineConnectionLike): void => {
    waitingForAcks.delete(conn)
    if (conn.readyState !== 'open') return
    const transport = conn.transport
    if (transport.name !== 'polling' || transport.writable) {
      // WebSocket, or a long poll pending: the close packet goes out now.
      conn.close()
      return
    }
    // No poll pending: the client is between two polls. Its next poll carries what is buffered for it and then,
    // on the poll after, the close packet. Behind a balancer that poll may go elsewhere once the listener here is
    // closed, so it is not waited for longer than an idle linger; then the connection is dropped without it.
    if (lingering.has(conn)) return
    const onReady = (): void => {
      if (!transport.writable || conn.readyState !== 'open') return
      stop()
      conn.close()
    }
    const timer = setTimeout(() => {
      stop()
      if (conn.readyState !== 'open') return
      counts.pollsDiscarded++
      conn.close(true)
    }, shutdown.options.idleLingerMs)
    const stop = (): void => {
      clearTimeout(timer)
      transport.off('ready', onReady)
      lingering.delete(conn)
    }
    transport.on('ready', onReady)
    lingering.set(conn, stop)
  }

  const settle = (conn: EngineConnectionLike, delta: number): void => {
    const left = (pending.get(conn) ?? 0) + delta
    pendingTotal += delta
    if (left <= 0) pending.delete(conn)
    else pending.set(conn, left)
    if (left <= 0 && waitingForAcks.has(conn)) close(conn)
  }

  /** Every engine.io connection open, learnt from engine.io's and the namespaces' `connection` events. */
  const open = new Set<EngineConnectionLike>()
  const learn = (conn: EngineConnectionLike): void => {
    if (open.has(conn) || conn.readyState !== 'open') return
    open.add(conn)
    conn.once('close', () => open.delete(conn))
  }

  const track = (socket: SocketIoSocketLike): void => {
    const conn = socket.conn
    learn(conn)
    let unanswered = 0
    socket.use((packet, next) => {
      const ack = packet[packet.length - 1]
      if (typeof ack === 'function') {
        let answered = false
        unanswered++
        settle(conn, 1)
        packet[packet.length - 1] = (...args: unknown[]) => {
          if (!answered) {
            answered = true
            unanswered--
            if (draining) counts.acksAnswered++
            settle(conn, -1)
          }
          return ack(...args)
        }
      }
      next()
    })
    socket.once('disconnect', () => {
      if (unanswered === 0) return
      if (draining) counts.acksCut += unanswered
      const n = unanswered
      unanswered = 0
      settle(conn, -n)
    })
  }
  const trackNamespace = (nsp: SocketIoNamespaceLike): void => {
    nsp.on('connection', track)
  }
  trackNamespace(io.sockets)
  io.on('new_namespace', trackNamespace)

  const follow = (conn: EngineConnectionLike): void => {
    leaving.add(conn)
    conn.once('close', () => {
      if (!leaving.delete(conn)) return
      counts.moved++
      if (leaving.size === 0) allGone?.()
    })
  }

  let engineHooked: EngineServerLike | undefined
  const hookEngine = (engine: EngineServerLike): void => {
    if (engineHooked === engine) return
    engineHooked = engine
    const allow = engine.opts.allowRequest
    engine.opts.allowRequest = (req, callback) => {
      if (draining) {
        counts.refused++
        callback(DRAINING_MESSAGE, false)
      } else if (allow) allow(req, callback)
      else callback(null, true)
    }
    // A handshake that passed before the drain and completed after it.
    engine.on('connection', (conn: EngineConnectionLike) => {
      learn(conn)
      if (!draining) return
      counts.clientsAtDrain++
      follow(conn)
      close(conn)
    })
  }
  if (io.engine) hookEngine(io.engine)

  const drain = async (context: HookContext): Promise<string> => {
    draining = true
    const engine = io.engine
    if (!engine) return 'not attached to an HTTP server: nothing to drain'
    hookEngine(engine)
    const conns = [...open]
    counts.clientsAtDrain += conns.length
    counts.acksAtDrain = pendingTotal
    for (const conn of conns) {
      follow(conn)
      if ((pending.get(conn) ?? 0) > 0) waitingForAcks.add(conn)
      else close(conn)
    }
    const gone = new Promise<'gone'>((resolve) => {
      allGone = () => resolve('gone')
      if (leaving.size === 0) resolve('gone')
    })
    const left = context.timeLeftMs
    const timers: NodeJS.Timeout[] = []
    let onAbort: (() => void) | undefined
    const cut = new Promise<'cut'>((resolve) => {
      timers.push(setTimeout(() => resolve('cut'), Math.max(0, left - Math.min(200, Math.floor(left / 10)))))
      onAbort = () => resolve('cut')
      context.signal.addEventListener('abort', onAbort, { once: true })
    })
    if (waitingForAcks.size > 0) {
      timers.push(setTimeout(() => {
        for (const conn of [...waitingForAcks]) close(conn)
      }, Math.min(ackTimeoutMs, left)))
    }
    try {
      const outcome = await Promise.race([gone, cut])
      if (outcome === 'cut') {
        for (const conn of [...leaving]) {
          leaving.delete(conn)
          counts.forced++
          conn.close(true)
        }
      }
      if (counts.forced > 0 || counts.acksCut > 0) {
        throw new LastcallError('LASTCALL_HOOK_FAILED', `lastcall: ${name}: ${describe(counts)}`)
      }
      return describe(counts)
    } finally {
      for (const timer of timers) clearTimeout(timer)
      for (const stop of [...lingering.values()]) stop()
      if (onAbort) context.signal.removeEventListener('abort', onAbort)
    }
  }
  shutdown.onShutdown(name, drain, { phase: o.phase ?? 'intake', timeoutMs: drainTimeoutMs })

  return {
    counts,
    get pendingAcks() {
      return pendingTotal
    },
  }
}

/** "2 clients at the drain: 2 moved, 0 forced; 1 acknowledgement pending: 1 answered, 0 cut off" */
export function describe(c: Readonly<SocketIoDrainCounts>): string {
  const s = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  return `${s(c.clientsAtDrain, 'client')} at the drain: ${c.moved} moved, ${c.forced} forced, ${c.refused} refused; ${s(c.acksAtDrain, 'acknowledgement')} pending: ${c.acksAnswered} answered, ${c.acksCut} cut off`
}
