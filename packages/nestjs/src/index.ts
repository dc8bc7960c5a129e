export { LastcallModule, LastcallService, enableLastcall } from './lastcallModule.js'
export type { LastcallModuleOptions, LastcallModuleAsyncOptions } from './lastcallModule.js'
export { LastcallSignal } from './lastcallSignal.js'
// All of @lastcall/core, so users install one package.
export * from '@lastcall/core'
