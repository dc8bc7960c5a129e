import type { IncomingMessage, ServerResponse } from 'node:http'
import { createShutdown, LastcallOptionError, type LastcallRequestContext, type ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { RequestGate, unavailableHeaders } from '@lastcall/core/adapter'
import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'

/** Options of the plugin: the core's (`logger` defaults to `app.log`), and where requests are admitted. */
export interface FastifyShutdownOptions extends ShutdownOptions {
  /**
   * Where probes are answered and requests that can no longer be served get
   * their 503.
   *
   * - `'hook'`: in an `onRequest` hook, the first of the app's. Every
   *   request Fastify handles goes through it, `app.inject()` included.
   * - `'server'`: at `app.server` itself, before Fastify routes the request
   *   (core's `attach(server, { admit })`), with the same JSON 503. Fastify
   *   then runs no hook of lastcall's for any request, which is cheaper
   *   (about 1% of the cheapest route's instructions, docs/bench-overhead.md),
   *   but requests that do not come through the server are not seen:
   *   `app.inject()` gets no probes and no 503, and Fastify's hooks and logs
   *   never see probes or 503s.
   *
   * @default 'hook'
   */
  admitAt?: 'hook' | 'server' | undefined
}

const ADMIT_AT = ['hook', 'server'] as const

declare module 'fastify' {
  interface FastifyInstance {
    /** The lastcall controller: `onShutdown`, `addCheck`, `ready()`, `shutdown()`, `state`, events. */
    shutdown: ShutdownController
  }
  interface FastifyRequest {
    /** The drain (and per-request deadline) signal of this request. */
    lastcall: LastcallRequestContext
  }
}

/** Keys Fastify's `register()` passes along with the plugin's own options. */
const REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers'] as const

/**
 * Fastify's shape for an error (what its default error handler renders):
 * JSON, so clients of a Fastify API parse every error the same way. Status
 * and headers are core's 503.
 */
const REJECTED_BODY = { statusCode: 503, error: 'Service Unavailable', message: 'The server is shutting down' }

const lastcallPlugin: FastifyPluginCallback<FastifyShutdownOptions> = (app, options, done) => {
  const own: Record<string, unknown> = { ...options }
  for (const key of REGISTER_KEYS) delete own[key]
  const admitAt = own.admitAt ?? 'hook'
  delete own.admitAt
  let controller: ShutdownController
  try {
    if (!(ADMIT_AT as readonly unknown[]).includes(admitAt)) throw new LastcallOptionError('admitAt', admitAt, `one of ${ADMIT_AT.map((a) => `'${a}'`).join(', ')}`)
    controller = createShutdown({ logger: app.log, ...(own as ShutdownOptions) })
  } catch (error) {
    // A LastcallOptionError naming the option: register() rejects with it.
    done(error as Error)
    return
  }

  app.decorate('shutdown', controller)
  const gate = new RequestGate(controller)
  // A getter on Fastify's request prototype: nothing is allocated or written per request.
  app.decorateRequest('lastcall', {
    getter() {
      return gate.contextFor(this.raw)
    },
    // As before the getter: a hook of the application may still set its own.
    setter(value) {
      Object.defineProperty(this, 'lastcall', { value, writable: true, configurable: true, enumerable: true })
    },
  })
  if (admitAt === 'server') {
    // The server exists from Fastify's construction on: attached before it accepts anything.
    controller.attach(app.server, { admit: rejectAtServer })
  } else {
    controller.attach(app.server)
    admitInHook(app, controller, gate)
  }

  app.addHook('onListen', (next) => {
    // `listen({ host: 'localhost' })` binds IPv4 and IPv6 through a second server
    // Fastify keeps to itself: lastcall cannot drain that one.
    if (app.addresses().length > 1) {
      app.log.warn(
        `lastcall: Fastify listens on ${app.addresses().length} addresses through extra servers that lastcall cannot drain; listen on one host (for example '0.0.0.0' or '::')`,
      )
    }
    next()
  })

  // Fastify's close() answers 503 to everything (probes included) and closes
  // idle keep-alive sockets the instant it starts, which races clients reusing
  // them. So a lastcall shutdown (SIGTERM, app.shutdown.shutdown()) runs the
  // readiness delay and the drain first, and calls app.close() once the
  // connections are gone, at the start of cleanup: onClose hooks then run in
  // lastcall's cleanup phase.
  let fastifyClosing = false
  let markClosed!: () => void
  const closed = new Promise<void>((resolve) => (markClosed = resolve))
  controller.onShutdown('fastify.close', () => (fastifyClosing ? closed : app.close()), {
    phase: cleanupPhase(controller),
    timeoutMs: controller.options.timeoutMs,
  })

  // A direct app.close() by the user starts the shutdown at the drain (the
  // caller has decided to stop now) and lets Fastify go on once the drain is over.
  app.addHook('preClose', (next) => {
    fastifyClosing = true
    if (!controller.isShuttingDown) {
      if (controller.state === 'starting' && !app.server.listening) {
        // Never served (app.inject() tests): nothing to drain, nothing to exit for.
        controller.dispose()
        next()
        return
      }
      void controller.shutdown('fastify.close() called', { skipReadinessDelay: true })
    }
    void controller.reached('closing').then(() => next())
  })
  app.addHook('onClose', (_instance, next) => {
    markClosed()
    next()
  })

  done()
}

/**
 * `admitAt: 'hook'`: probes and the 503 in an `onRequest` hook, for every
 * request Fastify handles (`app.inject()` included).
 */
function admitInHook(app: FastifyInstance, controller: ShutdownController, gate: RequestGate): void {
  app.addHook('onRequest', (request, reply, next) => {
    const raw = request.raw as IncomingMessage
    const admission = gate.admit(raw, reply.raw as ServerResponse)
    if (admission === 'serve') {
      next()
      return
    }
    if (admission === 'answered') {
      // The probe writes the response itself; the lifecycle stops here.
      reply.hijack()
      next()
      return
    }
    controller.countRejected()
    // Core's headers (no Connection on HTTP/2) but Fastify's JSON, which sets its own Content-Type.
    const headers = unavailableHeaders(raw.httpVersionMajor === 2)
    delete headers['Content-Type']
    void reply.code(503).headers(headers).send(REJECTED_BODY)
  })
}

/** The same 503 as the hook's, written on the Node response at the server (`admitAt: 'server'`). */
function rejectAtServer(req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string> = { ...unavailableHeaders(req.httpVersionMajor === 2), 'Content-Type': 'application/json; charset=utf-8' }
  res.writeHead(503, headers)
  res.end(JSON.stringify(REJECTED_BODY))
}

/** The first phase that runs after the drain: where app.close() belongs. */
function cleanupPhase(controller: ShutdownController): string {
  const phases = controller.options.phases
  return (phases.find((p) => p.start === 'cleanup') ?? phases[phases.length - 1])!.name
}

/**
 * The Fastify 5 plugin: `await app.register(gracefulShutdown, options)`.
 * Register it first: its `onRequest` hook (or, with `admitAt: 'server'`, the
 * server itself) answers the probes before other plugins' hooks, gives every request `request.lastcall.signal` and answers
 * 503 to what can no longer be served. `app.shutdown` is the controller;
 * `app.server` is attached for you.
 */
export const gracefulShutdown = fp(lastcallPlugin, { fastify: '5.x', name: '@lastcall/fastify' })
