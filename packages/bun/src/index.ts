export { gracefulShutdown, BunShutdown } from './gracefulShutdown.js'
export type { BunShutdownOptions, BunServerLike, BunWebSocketLike, BunWebSocketHandlers } from './gracefulShutdown.js'
export type { LastcallRequest } from '@lastcall/core/adapter'
// All of @lastcall/core, so users install one package.
export * from '@lastcall/core'
