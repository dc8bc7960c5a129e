import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { createShutdown, LastcallOptionError, type ShutdownController } from '@lastcall/core'
import { afterEach, describe, expect, it } from 'vitest'
import { drainChild, drainInProcess, parseReport, runLoad, send, startApp, tally, type ChildApp } from '../src/index.js'

const fixtures = join(import.meta.dirname, 'fixtures')
const TSX = [process.execPath, '--import', 'tsx', '--conditions=@lastcall/source']

describe('drainChild', () => {
  it('shows a lastcall app completing every held request, its hooks in order and exit 0', async () => {
    const result = await drainChild({ command: [...TSX, join(fixtures, 'app.ts')], slowPath: '/slow?ms=400', hold: 3 })
    expect(result.requests.map((r) => r.kind)).toEqual(['completed', 'completed', 'completed'])
    expect(result.allCompleted).toBe(true)
    expect(result.exitCode).toBe(0)
    expect(result.killed).toBe(false)
    expect(result.hooks).toEqual(['intake/stop-consumers', 'stores/close-db'])
    expect(result.report?.requests.inFlightAtDrain).toBe(3)
    expect(result.report?.exitCode).toBe(0)
  })

  it('shows a naive app cutting off the held requests', async () => {
    const result = await drainChild({ command: ['node', join(fixtures, 'naive.mjs')], slowPath: '/slow', hold: 3 })
    expect(result.allCompleted).toBe(false)
    expect(result.requests.every((r) => r.kind === 'reset-new' || r.kind === 'reset-reused')).toBe(true)
    expect(result.report).toBeUndefined()
    expect(result.exitCode).toBe(0)
  })
})

describe('drainInProcess', () => {
  let controller: ShutdownController | undefined
  let server: Server | undefined
  afterEach(async () => {
    controller?.dispose()
    if (server?.listening) {
      server.closeAllConnections()
      server.close()
    }
  })

  it('holds requests until the server received them, shuts down and returns the report', async () => {
    controller = createShutdown({ logger: false, exit: false, signals: [], readinessDelayMs: 0, drainTimeoutMs: 2000 })
    const order: string[] = []
    controller.onShutdown('a', () => void order.push('a'), { phase: 'intake' })
    controller.onShutdown('b', () => void order.push('b'), { phase: 'telemetry' })
    server = controller.attach(createServer(controller.handler((_req, res) => void setTimeout(() => res.end('done'), 200))))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const result = await drainInProcess({ controller, server, hold: 4 })
    expect(tally(result.requests)).toMatchObject({ completed: 4 })
    expect(result.report?.requests.inFlightAtDrain).toBe(4)
    expect(result.hooks).toEqual(['intake/a', 'telemetry/b'])
    expect(order).toEqual(['a', 'b'])
    expect(result.exitCode).toBe(0)
  })

  it('refuses a controller that would exit the test process', async () => {
    controller = createShutdown({ logger: false, signals: [] })
    server = createServer()
    await expect(drainInProcess({ controller, server })).rejects.toThrow(LastcallOptionError)
    await expect(drainInProcess({ controller, server, hold: 0 })).rejects.toThrow(/hold/)
  })
})

describe('send and runLoad', () => {
  let app: ChildApp | undefined
  afterEach(async () => {
    await app?.stop({ signal: 'SIGKILL', graceMs: 1000 })
    app = undefined
  })

  it('classifies refused, hung, 503 with Retry-After and completed requests', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/busy') {
        res.writeHead(503, { 'Retry-After': '1' })
        res.end()
      } else if (req.url !== '/hang') res.end('ok')
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    try {
      expect((await send({ port, path: '/' })).kind).toBe('completed')
      expect(await send({ port, path: '/busy' })).toMatchObject({ kind: 'rejected', status: 503, retryAfter: '1' })
      expect(await send({ port, path: '/hang', timeoutMs: 200 })).toMatchObject({ kind: 'hung', code: 'HUNG' })
    } finally {
      server.closeAllConnections()
      server.close()
    }
    await once(server, 'close')
    expect((await send({ port, path: '/' })).kind).toBe('refused')
  })

  it('counts resets on reused connections when a server cuts idle keep-alive sockets under load', async () => {
    app = await startApp({ command: ['node', join(fixtures, 'naive.mjs')], readyPath: '/' })
    const stop = new AbortController()
    let n = 0
    const load = runLoad({
      port: app.port,
      connections: 4,
      requests: [{ path: '/' }, { path: '/slow' }],
      onOutcome: () => {
        if (++n === 20) app!.signal('SIGTERM')
      },
      signal: stop.signal,
      maxRequests: 5000,
    })
    const { outcomes, stopped } = await load
    const counts = tally(outcomes)
    expect(counts.completed).toBeGreaterThanOrEqual(20)
    // The slow requests in flight at SIGTERM were on connections used before.
    expect(counts['reset-reused']).toBeGreaterThan(0)
    expect(stopped.every((s) => s === 'refused')).toBe(true)
  })

  it('parseReport finds a report line, bare or wrapped', () => {
    const report = { trigger: { type: 'signal', signal: 'SIGTERM' }, timeline: [], exitCode: 0 }
    expect(parseReport(['hello', JSON.stringify(report)])).toEqual(report)
    expect(parseReport([JSON.stringify({ event: 'report', report }), '{not json'])).toEqual(report)
    expect(parseReport(['{"a":1}'])).toBeUndefined()
  })
})
