import { once } from 'node:events'
import { createServer, get, IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { RequestGate, type Admission } from '../src/adapter.js'
import { createShutdown, type ShutdownController, type ShutdownOptions } from '../src/index.js'

const cleanup: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A server whose handler is `handle`, listening on 127.0.0.1:0; `attach` says whether the controller gets it. */
async function serve(controller: ShutdownController, handle: (req: IncomingMessage, res: ServerResponse) => void, attach = true): Promise<Server> {
  const server = createServer(handle)
  if (attach) controller.attach(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanup.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return server
}

function fetchStatus(server: Server, path: string): Promise<{ status: number; body: string }> {
  const { port } = server.address() as { port: number }
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

function controllerWith(options: ShutdownOptions = {}): ShutdownController {
  const controller = createShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 0, ...options })
  cleanup.push(() => controller.dispose())
  return controller
}

describe('RequestGate', () => {
  it('answers probes, serves requests and says when to reject', async () => {
    const controller = controllerWith()
    const gate = new RequestGate(controller)
    const seen: Admission[] = []
    const server = await serve(controller, (req, res) => {
      const admission = gate.admit(req, res)
      seen.push(admission)
      if (admission === 'serve') res.end('app')
      else if (admission === 'reject') controller.reject(res)
    })
    await controller.reached('serving')
    expect(await fetchStatus(server, '/readyz')).toEqual({ status: 200, body: 'ok' })
    expect(await fetchStatus(server, '/')).toEqual({ status: 200, body: 'app' })
    expect(seen).toEqual(['answered', 'serve'])
  })

  it('gives a carrier with its own prototype a lastcall getter there, once, and one with a built-in prototype a property', async () => {
    const controller = controllerWith()
    const gate = new RequestGate(controller, { requestOf: (ctx: { req: IncomingMessage }) => ctx.req })
    const appContext = {}
    const contexts: Array<{ req: IncomingMessage; lastcall?: { signal: AbortSignal } }> = []
    const server = await serve(controller, (req, res) => {
      const ctx = Object.assign(Object.create(appContext) as object, { req })
      const plain = { req }
      gate.admit(req, res, ctx)
      gate.admit(req, res, plain)
      contexts.push(ctx, plain)
      res.end()
    })
    await fetchStatus(server, '/a')
    await fetchStatus(server, '/b')
    expect(Object.getOwnPropertyDescriptor(appContext, 'lastcall')?.get).toBeTypeOf('function')
    for (const ctx of contexts) expect(ctx.lastcall?.signal).toBe(controller.signal)
    // The getter is not an own property of the contexts; the plain objects have their own.
    expect(Object.hasOwn(contexts[0]!, 'lastcall')).toBe(false)
    expect(Object.hasOwn(contexts[1]!, 'lastcall')).toBe(true)
    expect(Object.hasOwn(contexts[3]!, 'lastcall')).toBe(true)
  })

  it('gives each request its own signal when requestTimeoutMs is set', async () => {
    const controller = controllerWith({ requestTimeoutMs: 5_000 })
    const gate = new RequestGate(controller)
    const signals: AbortSignal[] = []
    const server = await serve(controller, (req, res) => {
      gate.admit(req, res)
      signals.push(gate.contextFor(req).signal)
      res.end()
    })
    await fetchStatus(server, '/a')
    await fetchStatus(server, '/b')
    expect(signals[0]).not.toBe(signals[1])
    expect(signals[0]).not.toBe(controller.signal)
  })

  it('attaches the server of the first request when attach() was forgotten', async () => {
    const controller = controllerWith()
    const gate = new RequestGate(controller)
    const server = await serve(controller, (req, res) => {
      gate.admit(req, res)
      res.end()
    }, false)
    expect(controller.state).toBe('starting')
    await fetchStatus(server, '/')
    await controller.reached('serving')
    expect(controller.isReady).toBe(true)
  })
})
