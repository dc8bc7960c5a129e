import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown, type ShutdownController, type ShutdownOptions } from '../src/index.js'
import { listen } from './helpers.js'
import { closedByTheDrain, sseClient } from './longLivedClients.js'

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

function controller(options: ShutdownOptions = {}) {
  // These tests are about the drain: no readiness delay.
  return createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, ...options })
}

/** The documented pattern (docs/long-lived.md): a final event and a retry hint when the drain starts. */
function eventStream(shutdown: ShutdownController) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    res.write('event: hello\ndata: connected\n\n')
    const signal = shutdown.signalFor(req)
    const onDrain = (): void => void res.end('event: shutdown\ndata: reconnect\nretry: 1000\n\n')
    signal.addEventListener('abort', onDrain, { once: true })
    res.on('close', () => signal.removeEventListener('abort', onDrain))
  }
}

describe('server-sent events during the drain', () => {
  it('sends the final event and a retry hint, ends the stream, and the drain closes every connection itself, none left for the deadline', async () => {
    const shutdown = controller({ drainTimeoutMs: 5000 })
    const server = shutdown.attach(createServer(shutdown.handler(eventStream(shutdown))))
    cleanup.push(() => server.closeAllConnections(), () => server.close())
    const port = await listen(server)
    const clients = [await sseClient(port, '/events'), await sseClient(port, '/events')]
    await Promise.all(clients.map((c) => c.waitForEvents(1)))
    const report = await shutdown.shutdown()
    for (const client of clients) {
      expect(client.status).toBe(200)
      expect(await client.ended).toEqual({ complete: true })
      expect(client.events).toEqual([
        { event: 'hello', data: 'connected' },
        { event: 'shutdown', data: 'reconnect', retry: '1000' },
      ])
    }
    expect(report.requests).toMatchObject({ inFlightAtDrain: 2, completed: 2, forced: 0 })
    expect(report.connections).toMatchObject({ closedAfterResponse: 2, forced: 0 })
    expect(report.exitCode).toBe(0)
    expect(closedByTheDrain(report)).toBe(report.connections.openAtDrain)
  })

  it('cuts off a stream whose handler ignores the signal at drainTimeoutMs, and counts it', async () => {
    const shutdown = controller({ drainTimeoutMs: 300 })
    const server = shutdown.attach(
      createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' })
        res.write('event: hello\ndata: connected\n\n')
      }),
    )
    cleanup.push(() => server.closeAllConnections(), () => server.close())
    const port = await listen(server)
    const client = await sseClient(port, '/events')
    await client.waitForEvents(1)
    const report = await shutdown.shutdown()
    expect(await client.ended).toEqual({ complete: false })
    expect(report.requests.forced).toBe(1)
    expect(report.exitCode).toBe(1)
  })
})
