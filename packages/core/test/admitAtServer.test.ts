import { once } from 'node:events'
import { Agent, createServer, request, Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, createServer as createHttp2Server, type Http2Server } from 'node:http2'
import { connect as connectTcp, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown, LastcallOptionError, type ShutdownController, type ShutdownOptions } from '../src/index.js'

const cleanup: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

function controllerWith(options: ShutdownOptions = {}): ShutdownController {
  const controller = createShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 0, ...options })
  cleanup.push(() => controller.dispose())
  return controller
}

async function listening<S extends Server | Http2Server>(server: S): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanup.push(() => {
    ;(server as Partial<Server>).closeAllConnections?.()
    server.close()
  })
  return (server.address() as AddressInfo).port
}

interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: string
}

function get(port: number, path: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
      .on('error', reject)
      .end()
  })
}

/** An application that answers every path itself, probes included (418), and holds `/hold` until `release()`. */
function application() {
  const seen: string[] = []
  const held: ServerResponse[] = []
  let arrived: (() => void) | undefined
  const waiting: Array<{ count: number; resolve: () => void }> = []
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push(req.url ?? '')
    for (const w of waiting.filter((w) => seen.length >= w.count)) w.resolve()
    if (req.url === '/hold') {
      held.push(res)
      arrived?.()
      return
    }
    res.statusCode = req.url === '/readyz' ? 418 : 200
    res.end('app')
  }
  return {
    seen,
    handle,
    held: () => new Promise<void>((resolve) => (arrived = resolve)),
    /** Resolves once the application has seen `count` requests. */
    seenAtLeast: (count: number) => new Promise<void>((resolve) => (seen.length >= count ? resolve() : waiting.push({ count, resolve }))),
    release: () => {
      for (const res of held.splice(0)) res.end('held')
    },
  }
}

/**
 * Starts a shutdown with a request held in flight, so the drain stays open,
 * and sends one more request on a keep-alive socket opened before it.
 */
async function duringDrain(controller: ShutdownController, port: number, app: ReturnType<typeof application>): Promise<Reply> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  cleanup.push(() => agent.destroy())
  await get(port, '/warm', agent)
  const held = app.held()
  const hold = get(port, '/hold')
  await held
  void controller.shutdown('test')
  await controller.reached('draining')
  const reply = await get(port, '/late', agent)
  app.release()
  await hold
  return reply
}

describe('attach(server, { admit })', () => {
  it('answers probes at the server, before the application, and hands it every other request', async () => {
    const controller = controllerWith()
    const app = application()
    const port = await listening(controller.attach(createServer(app.handle), { admit: true }))
    await controller.reached('serving')
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
    expect(await get(port, '/other')).toMatchObject({ status: 200, body: 'app' })
    expect(app.seen).toEqual(['/other'])
  })

  it('without admit, leaves every request to the application, probes included', async () => {
    const controller = controllerWith()
    const app = application()
    const port = await listening(controller.attach(createServer(app.handle)))
    await controller.reached('serving')
    expect(await get(port, '/readyz')).toMatchObject({ status: 418, body: 'app' })
  })

  it("answers 503 with Retry-After and Connection: close in the drain with whileDraining 'reject', the application never called, and counts it", async () => {
    const controller = controllerWith({ whileDraining: 'reject' })
    const app = application()
    const port = await listening(controller.attach(createServer(app.handle), { admit: true }))
    await controller.reached('serving')
    const closed = once(controller, 'closed')
    const reply = await duringDrain(controller, port, app)
    expect(reply.status).toBe(503)
    expect(reply.headers['retry-after']).toBeDefined()
    expect(reply.headers.connection).toBe('close')
    expect(app.seen).not.toContain('/late')
    const [report] = (await closed) as [{ requests: { rejected: number; completed: number } }]
    expect(report.requests.rejected).toBe(1)
  })

  it('renders the 503 with the function given, counted by lastcall', async () => {
    const controller = controllerWith({ whileDraining: 'reject' })
    const app = application()
    const rendered: string[] = []
    const port = await listening(
      controller.attach(createServer(app.handle), {
        admit: (req, res) => {
          rendered.push(req.url ?? '')
          res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1', Connection: 'close' })
          res.end('{"error":"Service Unavailable"}')
        },
      }),
    )
    await controller.reached('serving')
    const closed = once(controller, 'closed')
    const reply = await duringDrain(controller, port, app)
    expect(reply).toMatchObject({ status: 503, body: '{"error":"Service Unavailable"}' })
    expect(rendered).toEqual(['/late'])
    const [report] = (await closed) as [{ requests: { rejected: number } }]
    expect(report.requests.rejected).toBe(1)
  })

  it('turns on when a server attached before is attached again with admit', async () => {
    const controller = controllerWith()
    const app = application()
    const server = controller.attach(createServer(app.handle))
    expect(controller.attach(server, { admit: true })).toBe(server)
    const port = await listening(server)
    await controller.reached('serving')
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
  })

  it('answers probes on an HTTP/2 server that serves through the compatibility API', async () => {
    const controller = controllerWith()
    const app = application()
    const server = controller.attach(createHttp2Server(app.handle as never), { admit: true })
    const port = await listening(server)
    await controller.reached('serving')
    const session = connect(`http://127.0.0.1:${port}`)
    cleanup.push(() => void session.close())
    const stream = session.request({ ':path': '/readyz' })
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>]
    let body = ''
    stream.setEncoding('utf8').on('data', (c: string) => (body += c))
    await once(stream, 'end')
    expect(headers[':status']).toBe(200)
    expect(body).toBe('ok')
    expect(app.seen).toEqual([])
  })

  it('throws a LastcallOptionError naming the option for anything but a boolean or a function', () => {
    const controller = controllerWith()
    const attach = () => controller.attach(createServer(), { admit: 'yes' as never })
    expect(attach).toThrow(LastcallOptionError)
    expect(attach).toThrow(/attach\(server, \{ admit \}\).*"yes"/s)
  })
})

describe('the tracker sees requests before the application', () => {
  it('calls every request listener of the application, follows listeners added and removed, and honours once()', async () => {
    const controller = controllerWith()
    const server = controller.attach(createServer())
    const calls: string[] = []
    const a = (req: IncomingMessage, res: ServerResponse): void => {
      calls.push(`a${req.url}`)
      res.end('a')
    }
    const b = (req: IncomingMessage): void => void calls.push(`b${req.url}`)
    server.on('request', a)
    const port = await listening(server)
    await get(port, '/1')
    server.on('request', b)
    await get(port, '/2')
    server.off('request', a)
    server.once('request', (req: IncomingMessage, res: ServerResponse) => {
      calls.push(`once${req.url}`)
      res.end('once')
    })
    server.off('request', b)
    expect((await get(port, '/3')).body).toBe('once')
    expect(server.listenerCount('request')).toBe(0)
    server.on('request', a)
    await get(port, '/4')
    expect(calls).toEqual(['a/1', 'a/2', 'b/2', 'once/3', 'a/4'])
  })

  it('adds no request listener: an HTTP/2 server that only handles streams keeps the compatibility API off', async () => {
    const controller = controllerWith()
    const server = controller.attach(createHttp2Server())
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 })
      stream.end('stream')
    })
    const port = await listening(server)
    expect(server.listenerCount('request')).toBe(0)
    const session = connect(`http://127.0.0.1:${port}`)
    cleanup.push(() => void session.close())
    const stream = session.request({ ':path': '/' })
    let body = ''
    stream.setEncoding('utf8').on('data', (c: string) => (body += c))
    await once(stream, 'end')
    expect(body).toBe('stream')
  })

  it("calls the server class's emit as it is at each request, so a later patch (an APM's) still sees them", async () => {
    class Traced extends Server {}
    const controller = controllerWith()
    const server = controller.attach(new Traced((_req, res) => res.end('ok')))
    const traced: string[] = []
    const original = Traced.prototype.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean
    Traced.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
      if (event === 'request') traced.push((args[0] as IncomingMessage).url ?? '')
      return original.call(this, event, ...args)
    } as typeof Traced.prototype.emit
    const port = await listening(server)
    expect(await get(port, '/traced')).toMatchObject({ status: 200, body: 'ok' })
    expect(traced).toEqual(['/traced'])
  })

  it('counts requests in flight in normal operation, pipelined ones included, and hands them to the drain', async () => {
    const controller = controllerWith()
    const app = application()
    const port = await listening(controller.attach(createServer(app.handle)))
    await controller.reached('serving')
    const socket = connectTcp(port, '127.0.0.1')
    cleanup.push(() => void socket.destroy())
    let text = ''
    socket.setEncoding('utf8').on('data', (c: string) => (text += c))
    const seen = app.seenAtLeast(3)
    socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    // The two behind /hold are answered by the application at once, but Node writes them only after /hold.
    await seen
    expect(controller.inFlight).toBe(3)
    const closed = once(controller, 'closed')
    void controller.shutdown('test')
    await controller.reached('draining')
    app.release()
    const [report] = (await closed) as [{ requests: { inFlightAtDrain: number; completed: number } }]
    expect(report.requests.inFlightAtDrain).toBe(3)
    expect(report.requests.completed).toBe(3)
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(3)
    expect(controller.inFlight).toBe(0)
  })
})
