import { LastcallOptionError, ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { FetchGate, type FetchResult, type LastcallRequest, type NativeServer } from '@lastcall/core/adapter'
import { denoGlobal, type DenoHttpServer, type DenoNamespace, type DenoServeHandlerInfo, type DenoServeOptions, type DenoUpgrade } from './deno.js'
import { NotDenoError } from './errors.js'
import { denoHost } from './process/signals.js'

/** The application's `Deno.serve` handler; its request carries `request.lastcall` (`LastcallRequestContext`). */
export type DenoHandler = (request: LastcallRequest, info: DenoServeHandlerInfo) => FetchResult | Promise<FetchResult>

/** The options of `Deno.serve`, passed on untouched, with the handler as `handler` (its `Deno.serve({ handler })` form). */
export interface DenoServeOptionsWithHandler extends DenoServeOptions {
  /** The application's handler. */
  handler: DenoHandler
}

/** The options of `gracefulShutdown()`: the same as `createShutdown()` in @lastcall/core. */
export type DenoShutdownOptions = ShutdownOptions

function requireDeno(what: string): DenoNamespace {
  const deno = denoGlobal()
  if (deno === undefined) throw new NotDenoError(what)
  return deno
}

/**
 * The answer lastcall gives a handler still running when the drain deadline
 * has passed and the server was already told to shut down: a response whose
 * body fails at once, so Deno cuts the connection (the client sees an error,
 * never a complete answer). Deno offers no other force once `shutdown()` has
 * been called: aborting the `signal` option then throws inside Deno and ends
 * the process (docs/runtimes.md).
 */
function cutResponse(): Response {
  return new Response(new ReadableStream({ start: (controller) => controller.error(new Error('lastcall: the drain deadline passed')) }))
}

/**
 * A shutdown controller (all of @lastcall/core's) that also serves:
 * `serve()` is `Deno.serve` with lastcall in front (probes, 503 once the
 * service can no longer serve, every request counted in the drain and the
 * report, `request.lastcall.signal`), and its server drained on shutdown.
 */
export class DenoShutdown extends ShutdownController {
  readonly #gate: FetchGate

  constructor(options?: DenoShutdownOptions) {
    super(options, denoHost())
    this.#gate = new FetchGate(this)
  }

  /**
   * `Deno.serve` (same arguments, same server returned) with lastcall in
   * front, attached: at the drain every response gets `Connection: close`,
   * the server keeps listening for `idleLingerMs` (Deno's `shutdown()` also
   * closes the idle keep-alive connections, so a request already on its way
   * on one is answered first), then `server.shutdown()` runs and the drain
   * waits for it; at the drain deadline what is still running is cut.
   */
  serve(handler: DenoHandler): DenoHttpServer
  serve(options: DenoServeOptionsWithHandler): DenoHttpServer
  serve(options: DenoServeOptions, handler: DenoHandler): DenoHttpServer
  serve(first: DenoHandler | DenoServeOptions, second?: DenoHandler): DenoHttpServer {
    const deno = requireDeno('serve()')
    const options: DenoServeOptions = typeof first === 'function' ? {} : { ...first }
    const handler = typeof first === 'function' ? first : (second ?? (first.handler as DenoHandler | undefined))
    if (typeof handler !== 'function') throw new LastcallOptionError('serve(options, handler)', handler, 'a Deno.serve handler, a function (request, info) => Response')
    delete options.handler
    const gate = this.#gate
    const force = new AbortController()
    let stopped = false
    /** Handlers still running, each with the way to answer it at once (after `shutdown()`, the only force Deno leaves). */
    const running = new Set<(response: Response) => void>()
    const serveOne = (request: LastcallRequest, info: DenoServeHandlerInfo): FetchResult | Promise<FetchResult> => {
      const result = handler(request, info)
      if (!(result instanceof Promise)) return result
      return new Promise<FetchResult>((resolve, reject) => {
        const cut = (response: Response): void => resolve(response)
        running.add(cut)
        result.then(
          (response) => (running.delete(cut), resolve(response)),
          (error: unknown) => (running.delete(cut), reject(error)),
        )
      })
    }
    options.signal = options.signal === undefined ? force.signal : AbortSignal.any([options.signal as AbortSignal, force.signal])
    // `info.completed` tells when Deno is done with each response: no body needs following.
    const server = deno.serve(options, (request, info) => gate.handle(request, (r) => serveOne(r, info), info.remoteAddr.hostname, info.completed) as Response | Promise<Response>)
    const native: NativeServer = {
      stop: () => {
        stopped = true
        return server.shutdown()
      },
      force: () => {
        // Before shutdown() the signal closes everything at once; after it, aborting it crashes Deno.
        if (!stopped) return force.abort()
        for (const cut of running) cut(cutResponse())
        running.clear()
      },
    }
    this.attach(native)
    return server
  }

  /**
   * `Deno.upgradeWebSocket`, with the socket reported to lastcall: at the
   * drain it gets close code 1001, the drain waits for it to close
   * (`webSocketCloseTimeoutMs`), and the report counts it. Sockets upgraded
   * without it are closed by Deno's own `shutdown()` (also 1001), after
   * `idleLingerMs`, uncounted.
   */
  upgradeWebSocket(request: Request, options?: object): DenoUpgrade {
    const upgraded = requireDeno('upgradeWebSocket()').upgradeWebSocket(request, options)
    const { socket } = upgraded
    socket.addEventListener('open', () => this.#gate.webSocketOpened(socket), { once: true })
    socket.addEventListener('close', () => this.#gate.webSocketClosed(socket), { once: true })
    return upgraded
  }
}

/**
 * Creates the controller for a Deno service: signals through
 * `Deno.addSignalListener`, `serve()` for `Deno.serve`.
 *
 * ```ts
 * const shutdown = gracefulShutdown()
 * shutdown.onShutdown('db', () => db.close())
 * shutdown.serve({ port: 8000 }, (request) => new Response('ok'))
 * ```
 */
export function gracefulShutdown(options?: DenoShutdownOptions): DenoShutdown {
  return new DenoShutdown(options)
}
