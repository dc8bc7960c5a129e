import { LastcallError } from '@lastcall/core'

/** Thrown when `@lastcall/deno` is used on a runtime that has no `Deno` global (Node, Bun). */
export class NotDenoError extends LastcallError {
  constructor(what: string) {
    super('LASTCALL_INVALID_STATE', `lastcall: ${what} needs Deno (the Deno global is missing: this runtime is not Deno). On Node and Bun, use @lastcall/core or a framework adapter.`)
    this.name = 'NotDenoError'
  }
}
