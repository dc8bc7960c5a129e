export { gracefulShutdown } from './gracefulShutdown.js'
export type { KoaShutdown, KoaShutdownOptions, KoaMiddleware, KoaContextLike, LastcallContext } from './gracefulShutdown.js'
// All of @lastcall/core (`LastcallRequestContext`, the type of `ctx.lastcall`, included), so users
// install one package. `export *` rather than a list: a list drifts from core (it already had once),
// and core's index is the list.
export * from '@lastcall/core'
