export { gracefulShutdown } from './gracefulShutdown.js'
export type { HonoShutdown, HonoShutdownOptions } from './gracefulShutdown.js'
// All of @lastcall/core (`LastcallRequestContext`, the type of `c.var.lastcall`, included), so users
// install one package.
export * from '@lastcall/core'
