/**
 * Every error lastcall creates carries a stable `code`, so callers can branch
 * on it without matching messages, and a `cause` when it wraps another error.
 */
export type LastcallErrorCode =
  | 'LASTCALL_INVALID_OPTION'
  | 'LASTCALL_HOOK_TIMEOUT'
  | 'LASTCALL_HOOK_FAILED'
  | 'LASTCALL_CHECK_TIMEOUT'
  | 'LASTCALL_CHECK_FAILED'
  | 'LASTCALL_SHUTDOWN_TIMEOUT'
  | 'LASTCALL_SECOND_SIGNAL'
  | 'LASTCALL_INVALID_STATE'
  | 'LASTCALL_REQUEST_TIMEOUT'
  | 'LASTCALL_DRAINING'

/** The base class of lastcall's errors: check `instanceof LastcallError`, then branch on `code`. */
export class LastcallError extends Error {
  /** Stable across versions: branch on it, not on the message. */
  readonly code: LastcallErrorCode

  constructor(code: LastcallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LastcallError'
    this.code = code
  }
}

/**
 * Thrown at creation when an option is wrong. It is a `TypeError` (what
 * Node's own APIs throw for bad arguments) that also carries a stable code.
 */
export class LastcallOptionError extends TypeError {
  /** Always `'LASTCALL_INVALID_OPTION'`. */
  readonly code = 'LASTCALL_INVALID_OPTION' as const
  /** Dotted path of the option, for example `drainTimeoutMs` or `checks.db.timeoutMs`. */
  readonly option: string

  constructor(option: string, received: unknown, allowed: string) {
    super(`lastcall: option "${option}" must be ${allowed}; received ${describe(received)}`)
    this.name = 'LastcallOptionError'
    this.option = option
  }
}

/** A cleanup hook passed its timeout (its own `timeoutMs`, `hookTimeoutMs`, or its phase's); the report counts it as `timeout`. */
export class HookTimeoutError extends LastcallError {
  constructor(hook: string, timeoutMs: number) {
    super('LASTCALL_HOOK_TIMEOUT', `lastcall: shutdown hook "${hook}" did not finish within ${timeoutMs} ms`)
    this.name = 'HookTimeoutError'
  }
}

/** A readiness or health check did not answer within its `timeoutMs`; the probe counts it as failing. */
export class CheckTimeoutError extends LastcallError {
  constructor(check: string, timeoutMs: number) {
    super('LASTCALL_CHECK_TIMEOUT', `lastcall: check "${check}" did not answer within ${timeoutMs} ms`)
    this.name = 'CheckTimeoutError'
  }
}

/** The reason a request's signal aborts when it passes `requestTimeoutMs`. */
export class RequestTimeoutError extends LastcallError {
  constructor(timeoutMs: number) {
    super('LASTCALL_REQUEST_TIMEOUT', `lastcall: request did not finish within requestTimeoutMs (${timeoutMs} ms)`)
    this.name = 'RequestTimeoutError'
  }
}

/** The reason the drain signal aborts: the server is draining, finish up. */
export class DrainingError extends LastcallError {
  constructor() {
    super('LASTCALL_DRAINING', 'lastcall: the server is draining; finish the response so the client can go elsewhere')
    this.name = 'DrainingError'
  }
}

/** Renders a received value for an error message: short, typed, never huge. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
}
