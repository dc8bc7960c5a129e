import { gracefulShutdown } from './plugin.js'

export { gracefulShutdown }
export type { FastifyShutdownOptions } from './plugin.js'
export default gracefulShutdown
// All of @lastcall/core, so users install one package. `export *` rather than a
// list: a list drifts from core (it already had once), and core's index is the list.
export * from '@lastcall/core'
