import { once } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { connect, createSecureServer, createServer as createH2cServer, type ClientHttp2Session } from 'node:http2'
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { tlsOptions } from '@lastcall/test-kit'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { gracefulShutdown, type ShutdownReport } from '../src/index.js'

/** Headers RFC 9113 §8.2.2 forbids in HTTP/2 (Node drops them with a warning, or refuses the response). */
const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']

interface H2Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

function h2get(session: ClientHttp2Session, path: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path })
    let headers: IncomingHttpHeaders = {}
    let body = ''
    stream.setEncoding('utf8')
    stream.on('response', (h) => (headers = h))
    stream.on('data', (chunk: string) => (body += chunk))
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }))
    stream.on('error', reject)
  })
}

/**
 * A loopback TCP relay between the client and the server whose client → server
 * direction can be held: the client's streams wait in the relay until the
 * test lets them through.
 */
async function relay(port: number): Promise<{ port: number; hold(): Promise<void>; release(): void; close(): void }> {
  let held: Buffer[] | undefined
  let onHeld: (() => void) | undefined
  const pairs = new Set<[Socket, Socket]>()
  const front = createTcpServer((client) => {
    const upstream = tcpConnect(port, '127.0.0.1')
    pairs.add([client, upstream])
    client.on('data', (chunk: Buffer) => {
      if (held === undefined) return void upstream.write(chunk)
      held.push(chunk)
      onHeld?.()
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.end())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  front.listen(0, '127.0.0.1')
  await once(front, 'listening')
  return {
    port: (front.address() as AddressInfo).port,
    /** Holds what the client sends from now on; resolves once something is held. */
    hold() {
      held = []
      return new Promise<void>((resolve) => (onHeld = resolve))
    },
    release() {
      const chunks = held ?? []
      held = undefined
      for (const [, upstream] of pairs) for (const chunk of chunks) upstream.write(chunk)
    },
    close() {
      front.close()
      for (const [client, upstream] of pairs) {
        client.destroy()
        upstream.destroy()
      }
    },
  }
}

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

const servers = {
  'h2c (createServer: http2.createServer)': { secure: false, options: { createServer: createH2cServer } },
  'TLS (createServer: http2.createSecureServer)': { secure: true, options: { createServer: createSecureServer, serverOptions: tlsOptions() } },
} as const

describe('gracefulShutdown over HTTP/2 (@hono/node-server)', () => {
  for (const [name, { secure, options }] of Object.entries(servers)) {
    it(`${name}: probes answer; under whileDraining 'reject' a stream arriving in the drain gets 503 with Retry-After and no connection-specific header`, async () => {
      const warnings: string[] = []
      const onWarning = (w: Error): void => void warnings.push(w.message)
      process.on('warning', onWarning)
      cleanup.push(() => process.off('warning', onWarning))

      const shutdown = gracefulShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 0, whileDraining: 'reject' })
      const app = new Hono().use(shutdown)
      app.get('/ok', (c) => c.text('ok'))
      // Registered after the middleware: a probe that reached the app would answer 418.
      for (const path of ['/healthz', '/readyz']) app.get(path, (c) => c.text('app', 418))
      // What the middleware hands node-server, before Node's HTTP/2 layer
      // drops (and warns once per process about) connection-specific headers.
      const unavailable: Response[] = []
      const fetch = async (request: Request, env: unknown): Promise<Response> => {
        const response = await app.fetch(request, env)
        if (response.status === 503) unavailable.push(response)
        return response
      }
      const server = shutdown.attach(createAdaptorServer({ fetch, ...options }))
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      cleanup.push(() => server.close())
      const wire = await relay((server.address() as AddressInfo).port)
      cleanup.push(() => wire.close())
      const session = connect(`${secure ? 'https' : 'http'}://127.0.0.1:${wire.port}`, { rejectUnauthorized: false })
      cleanup.push(() => session.destroy())
      await shutdown.reached('serving')
      expect(await h2get(session, '/readyz')).toMatchObject({ status: 200, body: 'ok' })
      expect(await h2get(session, '/healthz')).toMatchObject({ status: 200, body: 'ok' })
      expect(await h2get(session, '/ok')).toMatchObject({ status: 200, body: 'ok' })

      // Three streams the server reads in the drain. Node's HTTP/2 server
      // ignores streams that arrive after it has sent a GOAWAY (even one
      // carrying the maximum stream id): the client gets REFUSED_STREAM, safe
      // to retry. So these must be read in the drain but before the first
      // GOAWAY goes out. The relay holds them until the drain starts, in a
      // timer callback: Node writes the GOAWAY from a later phase of the event
      // loop (its HTTP/2 writes are scheduled as immediates) than the one in
      // which the server reads what the relay has just written (poll).
      const sent = wire.hold()
      const inDrain = Promise.all(['/ok', '/readyz', '/healthz'].map((path) => h2get(session, path)))
      await sent
      let report!: Promise<ShutdownReport>
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          report = shutdown.shutdown('test')
          // readinessDelayMs 0: the drain started inside shutdown().
          expect(shutdown.state).toBe('draining')
          wire.release()
          resolve()
        }, 0),
      )
      const [rejected, readiness, liveness] = (await inDrain) as [H2Reply, H2Reply, H2Reply]

      expect(rejected).toMatchObject({ status: 503, body: 'Service Unavailable: shutting down\n', headers: { 'retry-after': '1' } })
      expect(rejected.headers['content-type']).toMatch(/^text\/plain/)
      for (const header of CONNECTION_SPECIFIC) expect(rejected.headers[header], header).toBeUndefined()
      expect(unavailable).toHaveLength(1)
      expect([...unavailable[0]!.headers.keys()].filter((name) => CONNECTION_SPECIFIC.includes(name))).toEqual([])
      expect(readiness.status).toBe(503)
      expect(liveness).toMatchObject({ status: 200, body: 'ok' })
      for (const header of CONNECTION_SPECIFIC) expect(readiness.headers[header], header).toBeUndefined()

      const { requests, exitCode } = await report
      expect(requests.rejected).toBe(1)
      expect(exitCode).toBe(0)
      // Node would have warned about a Connection header it dropped.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    })
  }
})
