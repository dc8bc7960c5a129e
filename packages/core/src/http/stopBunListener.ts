/**
 * The key Bun's `node:http` Server keeps its native server under (the
 * `Bun.serve`-like object that owns the listening socket and the
 * connections). Read by description: the symbol itself is not exported.
 */
const NATIVE_SERVER = '::bunternal::'

/** What lastcall needs of Bun's native server. */
interface NativeServer {
  stop(closeActiveConnections?: boolean): unknown
  closeIdleConnections(): unknown
}

/** A server that stops listening with its own `close()`: Bun's `node:http` Server. */
export interface ClosableServer {
  close(): unknown
}

/**
 * Stops a Bun `node:http` server listening without closing its idle
 * keep-alive connections, and returns `undefined`; or, when Bun's internals
 * are not what this expects, stops it with its plain `close()` and returns a
 * note saying so.
 *
 * Bun's `Server#close()` (1.4) asks its native server to close every
 * connection idle at that instant and then stops it. A client sending on one
 * of those at that moment is reset: the keep-alive race that Node's
 * `http.Server#close()` has too, and that lastcall avoids on Node by calling
 * `net.Server`'s `close`, which Bun's server is not. The native server's own
 * `stop()` leaves idle connections open, so for the length of the `close()`
 * call the instance's `closeIdleConnections` is shadowed by one that closes
 * nothing. Everything else `close()` does still happens: the listener stops,
 * `listening` turns false, and `close` is emitted once the last connection is
 * gone, which the tracker's idle linger then takes care of as on Node.
 * Measured in docs/runtimes.md.
 */
export function stopBunListener(server: ClosableServer): string | undefined {
  const native = nativeServerOf(server)
  if (native === undefined) {
    server.close()
    return `the server is no net.Server and has no Bun native server (${NATIVE_SERVER}); stopped it with its own close(), which may close idle keep-alive connections a client is about to reuse`
  }
  const own = Object.getOwnPropertyDescriptor(native, 'closeIdleConnections')
  let asked = false
  const keepIdle = (): number => {
    asked = true
    return 0
  }
  let shadowed = false
  try {
    Object.defineProperty(native, 'closeIdleConnections', { value: keepIdle, configurable: true, writable: true, enumerable: false })
    shadowed = native.closeIdleConnections === keepIdle
  } catch {
    // A frozen or exotic object: leave it as it is, and say so below.
  }
  try {
    server.close()
  } finally {
    if (shadowed) {
      if (own === undefined) delete (native as Partial<NativeServer>).closeIdleConnections
      else Object.defineProperty(native, 'closeIdleConnections', own)
    }
  }
  if (!shadowed) return "Bun's native server would not take a closeIdleConnections of lastcall's; stopped the server with its own close(), which closes idle keep-alive connections a client may be about to reuse"
  if (!asked) return "Bun's close() did not call its native server's closeIdleConnections as lastcall expects; it may have closed idle keep-alive connections another way"
  return undefined
}

function nativeServerOf(server: object): NativeServer | undefined {
  for (const key of Object.getOwnPropertySymbols(server)) {
    if (key.description !== NATIVE_SERVER) continue
    const value: unknown = (server as Record<symbol, unknown>)[key]
    if (isNativeServer(value)) return value
  }
  return undefined
}

function isNativeServer(value: unknown): value is NativeServer {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Partial<Record<keyof NativeServer, unknown>>
  return typeof candidate.stop === 'function' && typeof candidate.closeIdleConnections === 'function'
}
