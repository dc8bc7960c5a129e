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
  upgradeWebSocket(request: Request, options?: object): { socket: DenoWebSocket; response: Response }
}

/** The server side of a WebSocket `Deno.upgradeWebSocket` made (the web `WebSocket`). */
export interface DenoWebSocket {
  readonly readyState: number
  close(code?: number, reason?: string): void
  addEventListener(type: 'open' | 'close', listener: () => void, options?: { once?: boolean }): void
}

/** What `Deno.serve` passes a handler beside the request. */
export interface DenoServeHandlerInfo {
  readonly remoteAddr: { readonly transport: string; readonly hostname: string; readonly port: number }
  /** Resolves once the response has been sent in full; rejects when the connection is lost first. */
  readonly completed: Promise<void>
}

export type DenoServeHandler = (request: Request, info: DenoServeHandlerInfo) => Response | Promise<Response>

/** The options of `Deno.serve` this package passes on untouched (see `ServeOptions`). */
export interface DenoServeOptions {
  port?: number
  hostname?: string
  signal?: AbortSignal
  reusePort?: boolean
  onListen?: (addr: { hostname: string; port: number; transport: string }) => void
  onError?: (error: unknown) => Response | Promise<Response>
  [option: string]: unknown
}

export interface DenoHttpServer {
  readonly addr: { readonly hostname: string; readonly port: number; readonly transport: string }
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>
  /** Stops accepting, closes idle connections at once, and resolves once every request in flight has been answered. */
  shutdown(): Promise<void>
  ref(): void
  unref(): void
}

/** Deno's namespace, or undefined on another runtime. */
export function denoGlobal(): DenoNamespace | undefined {
  return (globalThis as { Deno?: DenoNamespace }).Deno
}
