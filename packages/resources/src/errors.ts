import { LastcallError } from '@lastcall/core'

/** Why a resource hook failed, beyond the message. */
export type ResourceCloseReason = 'already-closed' | 'close-failed' | 'cut-off'

/**
 * Thrown inside a resource's shutdown hook, never past the shutdown: core's
 * hook runner catches it and the report lists the hook with outcome `error`
 * and this message, so the exit code says something went wrong.
 */
export class ResourceCloseError extends LastcallError {
  /** The hook's name, for example `pg`. */
  readonly resource: string
  readonly reason: ResourceCloseReason

  constructor(resource: string, reason: ResourceCloseReason, message: string, options?: { cause?: unknown }) {
    super('LASTCALL_HOOK_FAILED', `lastcall: ${resource}: ${message}`, options)
    this.name = 'ResourceCloseError'
    this.resource = resource
    this.reason = reason
  }
}

/** Wraps whatever a client's close method threw, keeping it as `cause`. */
export function closeFailed(resource: string, action: string, error: unknown): ResourceCloseError {
  const detail = error instanceof Error ? error.message : String(error)
  return new ResourceCloseError(resource, 'close-failed', `${action} failed: ${detail}`, { cause: error })
}

export function alreadyClosed(resource: string, what: string): ResourceCloseError {
  return new ResourceCloseError(resource, 'already-closed', `${what} was already closed when the shutdown reached it (something closed it earlier, possibly under running work)`)
}

/** Work still in hand at the hook's deadline: the helper closed hard under it. */
export function cutOff(resource: string, what: string): ResourceCloseError {
  return new ResourceCloseError(resource, 'cut-off', `cut off at the hook's deadline: ${what}`)
}
