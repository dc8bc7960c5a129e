// `@lastcall/core/adapter`: what a framework adapter is built from, kept out
// of the main entry point that adapters re-export to their users.
export { RequestGate } from './adapter/requestGate.js'
export type { Admission, RequestGateOptions, LastcallRequestContext } from './adapter/requestGate.js'
export { withController } from './adapter/withController.js'
