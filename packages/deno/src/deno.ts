/**
 * The part of Deno's global namespace this package uses, declared here so
 * that it builds and typechecks without Deno's own types (and under Node's
 * tooling). Reached through `denoGlobal()`, never as a bare `Deno`.
 */
export interface DenoNamespace {
  readonly version: { readonly deno: string }
  readonly pid: number
  readonly build: { readonly os: string }
  readonly env: { toObject(): Record<string, string> }
  readonly stderr: { writeSync(data: Uint8Array): number }
  /** Exit code used when the process ends without `exit()` (Deno 2). */
  exitCode: number
  addSignalListener(signal: string, handler: () => void): void
  removeSignalListener(signal: string, handler: () => void): void
  exit(code?: number): never
  serve(options: DenoServeOptions, handler: DenoServeHandler): DenoHttpServer
  upgradeWebSocket(request: Request, options?: object): DenoUpgrade
}

/** A TCP address as Deno reports it (`server.addr`, `info.remoteAddr`). */
export interface DenoNetAddr {
  /** `'tcp'` for the servers this package drives. */
  readonly transport: string
  /** The IP address. */
  readonly hostname: string
  /** The port. */
  readonly port: number
}

/** What `Deno.upgradeWebSocket` (and `DenoShutdown.upgradeWebSocket`) returns. */
export interface DenoUpgrade {
  /** The server side of the WebSocket. */
  socket: DenoWebSocket
  /** The 101 response the handler must return. */
  response: Response
}

/** The server side of a WebSocket `Deno.upgradeWebSocket` made (the web `WebSocket`). */
export interface DenoWebSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number
  /** Starts the close handshake with `code` and `reason`. */
  close(code?: number, reason?: string): void
  /** Listens for the socket's `open` and `close` events. */
  addEventListener(type: 'open' | 'close', listener: () => void, options?: { once?: boolean }): void
}

/** What `Deno.serve` passes a handler beside the request. */
export interface DenoServeHandlerInfo {
  /** The client's address. */
  readonly remoteAddr: DenoNetAddr
  /**
   * Resolves once Deno is done with the response: its body handed over to
   * the connection in full (a 64 MB body to a client not reading: before the
   * client has it; `shutdown()` still waits for that), or the client gone
   * (after the handler answered). Measured on Deno 2.9.6: it resolved in each
   * of those cases, never rejected (docs/runtimes.md).
   */
  readonly completed: Promise<void>
}

/** A `Deno.serve` handler: a request in, a response out. */
export type DenoServeHandler = (request: Request, info: DenoServeHandlerInfo) => Response | Promise<Response>

/** The options of `Deno.serve` this package passes on untouched (see `ServeOptions`). */
export interface DenoServeOptions {
  /** The port to listen on (Deno's default: 8000; 0 for any free port). */
  port?: number
  /** The address to listen on (Deno's default: `0.0.0.0`). */
  hostname?: string
  /** Closes the server and every connection when it aborts. Under lastcall, never abort it once the drain has begun: after `server.shutdown()` an abort throws inside Deno 2.9 and ends the process (docs/runtimes.md). */
  signal?: AbortSignal
  /** Lets several processes listen on the port (Linux). */
  reusePort?: boolean
  /** Called once listening; Deno's default prints the address. */
  onListen?: (addr: DenoNetAddr) => void
  /** Answers a request whose handler threw (Deno's default: 500). */
  onError?: (error: unknown) => Response | Promise<Response>
  /** Any other option of `Deno.serve`, passed on untouched. */
  [option: string]: unknown
}

/** The server `Deno.serve` returns (and `DenoShutdown.serve`, the same object). */
export interface DenoHttpServer {
  /** The address the server listens on. */
  readonly addr: DenoNetAddr
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>
  /** Stops accepting, closes idle connections at once, and resolves once every request in flight has been answered. */
  shutdown(): Promise<void>
  /** Makes the server keep the process alive (the default). */
  ref(): void
  /** Lets the process exit while the server is still listening. */
  unref(): void
}

/** Deno's namespace, or undefined on another runtime. */
export function denoGlobal(): DenoNamespace | undefined {
  return (globalThis as { Deno?: DenoNamespace }).Deno
}
