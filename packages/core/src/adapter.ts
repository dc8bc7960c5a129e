// `@lastcall/core/adapter`: what a framework adapter is built from, kept out
// of the main entry point that adapters re-export to their users.
export { RequestGate } from './adapter/requestGate.js'
export type { Admission, RequestGateOptions, LastcallRequestContext } from './adapter/requestGate.js'
export { withController } from './adapter/withController.js'
// For runtime drivers (`@lastcall/deno`): the process-wide signal coordinator
// on another runtime's process API, handed to `new ShutdownController(options, host)`.
export { ProcessCoordinator } from './process/signals.js'
export type { ProcessHost, ProcessLike, Participant, Trigger } from './process/signals.js'
export { FetchGate } from './adapter/fetchGate.js'
export type { FetchGateOptions, FetchResult, LastcallRequest } from './adapter/fetchGate.js'
export type { NativeServer, NativeWebSocket } from './http/nativeServers.js'
export { unavailableBody, unavailableHeaders, unavailableResponse } from './http/serviceUnavailable.js'
export type { UnavailableReason } from './http/serviceUnavailable.js'
