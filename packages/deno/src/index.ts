export { gracefulShutdown, DenoShutdown } from './gracefulShutdown.js'
export type { DenoHandler, DenoServeOptionsWithHandler, DenoShutdownOptions } from './gracefulShutdown.js'
export type { DenoHttpServer, DenoNetAddr, DenoServeHandler, DenoServeHandlerInfo, DenoServeOptions, DenoUpgrade, DenoWebSocket } from './deno.js'
export { createShutdown } from './createShutdown.js'
export { denoHost } from './process/signals.js'
export { NotDenoError } from './errors.js'
// All of @lastcall/core, so users install one package. This package's
// createShutdown() (on Deno's signal API) shadows core's.
export * from '@lastcall/core'
export type { LastcallRequest } from '@lastcall/core/adapter'
