import type { Logger } from 'pino'
import { LastcallOptionError } from '@lastcall/core'
import { closeFailed } from './errors.js'
import { gracefulOrHard, registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** A pino destination: `pino.destination()` (SonicBoom), `pino.transport()` (ThreadStream), or a stream with `end`. */
export interface PinoDestination {
  end(): unknown
  flushSync?(): void
}

/** A controller that also tells when its report is final (`ShutdownController` does). */
export interface ClosingHost extends ShutdownHost {
  once(event: 'closed', listener: (...args: any[]) => void): unknown
}

export interface ClosePinoOptions extends ResourceHookOptions {
  /**
   * The destination to close once the shutdown is over. Leave it out to only
   * flush (a logger writing to stdout needs nothing more).
   * @default undefined (flush only)
   */
  destination?: PinoDestination
}

/**
 * Flushes a pino logger in the `telemetry` phase, the last one, so what every
 * other hook logged is written. The destination is closed only after the
 * shutdown's final report line was logged (on the controller's `closed`
 * event): a destination closed inside the hook would make that last line
 * throw ("SonicBoom destroyed") when the same logger is lastcall's `logger`.
 * A flush that fails is reported; one that hangs times out like any hook.
 *
 * @example
 * const destination = pino.destination({ dest: '/var/log/app.log', sync: false })
 * const logger = pino(destination)
 * const shutdown = createShutdown({ logger })
 * closePino(shutdown, logger, { destination })
 */
export function closePino(host: ClosingHost, logger: Pick<Logger, 'flush'>, options?: ClosePinoOptions): () => void {
  if (typeof logger !== 'object' || logger === null || typeof logger.flush !== 'function') {
    throw new LastcallOptionError('closePino(logger)', logger, 'a pino logger')
  }
  const destination = options?.destination
  if (destination !== undefined && (typeof destination !== 'object' || destination === null || typeof destination.end !== 'function')) {
    throw new LastcallOptionError('closePino(options).destination', destination, 'a pino destination (pino.destination() or pino.transport())')
  }
  if (destination !== undefined && (typeof host !== 'object' || host === null || typeof host.once !== 'function')) {
    throw new LastcallOptionError('closePino(controller)', host, 'a shutdown controller with once("closed") when a destination is given')
  }
  const remove = registerHook('closePino', host, options, { name: 'pino', phase: 'telemetry' }, async ({ signal }, name) => {
    try {
      await gracefulOrHard(
        signal,
        () => new Promise<void>((resolve, reject) => logger.flush((error?: Error) => (error ? reject(error) : resolve()))),
        () => {},
      )
    } catch (error) {
      throw closeFailed(name, 'logger.flush()', error)
    }
  }, ['destination'])
  if (destination !== undefined) {
    host.once('closed', () => {
      try {
        // The report's line was just written; get it out before the process exits (this runs right before exit).
        destination.flushSync?.()
      } catch {
        // A destination still opening cannot flush synchronously; end() below writes what it holds.
      }
      destination.end()
    })
  }
  return remove
}
