import type { LastcallRequestContext } from '@lastcall/core'
import { createParamDecorator, type ExecutionContext } from '@nestjs/common'

/**
 * The request's lastcall signal as a handler parameter:
 * `@Get() report(@LastcallSignal() signal: AbortSignal)`. It aborts when the
 * drain starts, or when the request passes `requestTimeoutMs`. The same signal
 * is on the request (`req.lastcall.signal`) on both platforms.
 */
export const LastcallSignal = createParamDecorator((_data: unknown, context: ExecutionContext): AbortSignal => {
  return context.switchToHttp().getRequest<{ lastcall: LastcallRequestContext }>().lastcall.signal
})
