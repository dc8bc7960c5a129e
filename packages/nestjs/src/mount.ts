import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ShutdownController } from '@lastcall/core'
import { RequestGate, unavailableHeaders } from '@lastcall/core/adapter'

/** What Nest renders for `throw new ServiceUnavailableException()`: Nest's shape for errors, with core's 503 status and headers. */
const REJECTED_BODY = JSON.stringify({ message: 'Service Unavailable', statusCode: 503 })
const JSON_TYPE = 'application/json; charset=utf-8'

/** Core's 503 headers (no Connection on HTTP/2) with Nest's JSON content type. */
function rejectedHeaders(http2: boolean): Record<string, string> {
  return { ...unavailableHeaders(http2), 'Content-Type': JSON_TYPE }
}

/** The part of Nest's `AbstractHttpAdapter` lastcall uses (Express or Fastify platform). */
export interface NestHttpAdapterLike {
  getType(): string
  getInstance(): unknown
  getHttpServer(): unknown
}

/** The part of a Fastify instance the Fastify platform's hook uses. */
interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (request: { raw: IncomingMessage }, reply: FastifyReplyLike, done: () => void) => void,
  ): unknown
  decorateRequest(name: 'lastcall', value: { getter(this: { raw: IncomingMessage }): unknown }): unknown
  hasRequestDecorator(name: string): boolean
}

interface FastifyReplyLike {
  raw: ServerResponse
  hijack(): void
  code(status: number): FastifyReplyLike
  headers(values: Record<string, string>): FastifyReplyLike
  send(payload: unknown): unknown
}

/**
 * Puts core's `RequestGate` in front of Nest's routing, on the framework under
 * the platform: an Express middleware (`req.lastcall` on Express's `app.request`)
 * or a Fastify `onRequest` hook (`request.lastcall` as a request decorator).
 */
export function mountGate(controller: ShutdownController, adapter: NestHttpAdapterLike): void {
  const gate = new RequestGate(controller)
  const type = adapter.getType()
  if (type === 'express') {
    const app = adapter.getInstance() as { use(fn: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): unknown }
    app.use((req, res, next) => {
      const admission = gate.admit(req, res, req)
      if (admission === 'serve') next()
      else if (admission === 'reject') {
        controller.countRejected()
        res.writeHead(503, rejectedHeaders(req.httpVersionMajor === 2))
        res.end(REJECTED_BODY)
      }
    })
    return
  }
  if (type === 'fastify') {
    const fastify = adapter.getInstance() as FastifyLike
    if (!fastify.hasRequestDecorator('lastcall')) fastify.decorateRequest('lastcall', { getter() { return gate.contextFor(this.raw) } })
    fastify.addHook('onRequest', (request, reply, done) => {
      const admission = gate.admit(request.raw, reply.raw)
      if (admission === 'serve') return done()
      if (admission === 'answered') {
        reply.hijack()
        return done()
      }
      controller.countRejected()
      void reply.code(503).headers(rejectedHeaders(request.raw.httpVersionMajor === 2)).send(REJECTED_BODY)
    })
    return
  }
  throw new TypeError(`@lastcall/nestjs supports Nest's Express and Fastify platforms; this app runs on '${type}'`)
}
