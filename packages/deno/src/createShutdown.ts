import { ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { denoHost } from './process/signals.js'

/**
 * `createShutdown()` of @lastcall/core with Deno's own signal API
 * (`Deno.addSignalListener`) and `Deno.exit`: a controller for any server
 * on Deno, `node:http` ones included.
 */
export function createShutdown(options?: ShutdownOptions): ShutdownController {
  return new ShutdownController(options, denoHost())
}
