import { EventEmitter } from 'node:events'

/**
 * Called for every `request` event of a server before any of its listeners.
 * Returns true when it answered the request itself: the application's
 * listeners then never see it.
 */
export type FirstLook = (req: any, res: any) => boolean

/**
 * Sees each `request` event of `server` first, by giving the server an
 * `emit` of its own that calls `first` and then the `emit` it had.
 *
 * Why not a prepended listener, as for other events:
 * - A second `request` listener makes every emit copy the listener array and
 *   call two functions: measurable on the cheapest requests
 *   (`docs/bench-overhead.md`). And when the server has one listener of its
 *   own (the framework's) and a plain `EventEmitter` `emit`, that listener is
 *   called directly: `emit` called from here is not inlined as it is in
 *   Node's own caller, and its generic code (a rest array, `Reflect.apply`,
 *   `_events` loads that see every kind of emitter) cost ~900 instructions
 *   per request under callgrind.
 * - A listener cannot keep the application's listeners from running, so it
 *   could not answer a probe or a 503 itself (`attach(server, { admit })`).
 * - On an HTTP/2 server, adding the first `request` listener switches the
 *   compatibility API on, which changes an application that only handles
 *   `stream`; an `emit` adds no listener, and sees `request` only when the
 *   application listens to it.
 *
 * Node's `http`, `https` and `http2` servers, and the `node:http` servers of
 * Bun and Deno, emit through the server's own `emit` (test/admitAtServer.test.ts,
 * and every adapter's conformance suite on Bun and Deno). The `emit` wrapped
 * is looked up at each call on the prototype unless the server had one of
 * its own, so an APM that patches `http.Server.prototype.emit` later still
 * sees every request.
 */
export function seeRequestsFirst(server: EventEmitter, first: FirstLook): void {
  const own = Object.hasOwn(server, 'emit') ? server.emit : undefined
  const proto = Object.getPrototypeOf(server) as EventEmitter
  // With rejections captured, `emit` wraps what a listener returns: only `emit` may call it.
  const direct = !EventEmitter.captureRejections
  /** The application's one `request` listener (as `rawListeners` gives it, so a `once` is removed), while it has exactly one. */
  let only: ((this: EventEmitter, req: unknown, res: unknown) => unknown) | undefined
  let stale = true
  const changed = (name: string | symbol): void => {
    if (name === 'request') stale = true
  }
  server.on('newListener', changed)
  server.on('removeListener', changed)
  server.emit = function emit(this: EventEmitter, event: string | symbol, req?: unknown, res?: unknown): boolean {
    const original = own ?? proto.emit
    if (event !== 'request') {
      // As it came, whatever its number of arguments (`upgrade` has three).
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as Parameters<EventEmitter['emit']>)
    }
    if (first(req, res)) return true
    if (original === plainEmit && direct) {
      if (stale) {
        const listeners = server.rawListeners('request')
        only = listeners.length === 1 ? (listeners[0] as typeof only) : undefined
        stale = false
      }
      if (only !== undefined) {
        only.call(this, req, res)
        return true
      }
    }
    return original.call(this, event, req, res)
  }
}

const plainEmit = EventEmitter.prototype.emit
