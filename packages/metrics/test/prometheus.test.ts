import { createServer, type Server } from 'node:http'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { FIGURES } from '../src/index.js'
import { metricsHandler, prometheusMetrics } from '../src/prometheus.js'
import { get, listen, startApp, type App } from './app.js'

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn()
})

/** Parses the Prometheus text format into `name{labels}` → value (labels as written, sorted by prom-client). */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

interface Setup { app: App; registry: Registry; scrape(): Promise<Map<string, number>> }

/** The app under test plus an admin server (not attached to the controller) serving /metrics, as a separate port would in production. */
async function setup(options: Parameters<typeof startApp>[0] = {}): Promise<Setup> {
  const app = await startApp(options)
  const registry = new Registry()
  prometheusMetrics(app.shutdown, { registry })
  const handler = metricsHandler(registry)
  const admin: Server = createServer((req, res) => (req.url === '/metrics' ? handler(req, res) : res.writeHead(404).end()))
  const adminPort = await listen(admin)
  cleanup.push(() => {
    app.close()
    admin.closeAllConnections()
    admin.close()
  })
  return {
    app, registry,
    scrape: async () => {
      const reply = await get(adminPort, '/metrics', { agent: false })
      expect(reply.status).toBe(200)
      return parse(reply.body)
    },
  }
}

const state = (samples: Map<string, number>): string[] =>
  [...samples].filter(([key, value]) => key.startsWith('lastcall_state{') && value === 1).map(([key]) => /state="(\w+)"/.exec(key)![1]!)

describe('prometheusMetrics', () => {
  it('scraped over HTTP during a drain: the in-flight count falls and the state changes', async () => {
    const { app, scrape } = await setup({ drainTimeoutMs: 5000 })
    app.shutdown.onShutdown('flush', () => {})
    app.shutdown.onShutdown('broken', () => {
      throw new Error('nope')
    }, { phase: 'stores' })

    const first = await scrape()
    expect(state(first)).toEqual(['serving'])
    expect(first.get('lastcall_requests_in_flight')).toBe(0)

    const replies = [get(app.port, '/held', { agent: false }), get(app.port, '/held', { agent: false })]
    await app.arrived(2)
    const loaded = await scrape()
    expect(loaded.get('lastcall_requests_in_flight')).toBe(2)
    expect(loaded.get('lastcall_open_connections{protocol="http1"}')).toBe(2)
    expect(loaded.get('lastcall_open_connections{protocol="h2"}')).toBe(0)

    const draining = new Promise<void>((resolve) => app.shutdown.on('state', (s) => s === 'draining' && resolve()))
    const done = app.shutdown.shutdown('test')
    await draining
    const during = await scrape()
    expect(state(during)).toEqual(['draining'])
    expect(during.get('lastcall_requests_in_flight')).toBe(2)

    app.release()
    expect((await replies[0])!.status).toBe(200)
    const half = await scrape()
    expect(half.get('lastcall_requests_in_flight')).toBe(1)
    expect(state(half)).toEqual(['draining'])

    app.release()
    expect((await replies[1])!.status).toBe(200)
    const report = await done
    const after = await scrape()
    expect(state(after)).toEqual(['closed'])
    expect(after.get('lastcall_requests_in_flight')).toBe(0)
    expect(after.get('lastcall_open_connections{protocol="http1"}')).toBe(0)
    expect(after.get('lastcall_shutdowns_total{trigger="manual",outcome="failed"}')).toBe(1)
    expect(report.exitCode).toBe(1)
    for (const phase of ['leaving', 'draining', 'closing']) expect(after.get(`lastcall_shutdown_phase_duration_seconds_count{phase="${phase}"}`)).toBe(1)
    expect(after.get('lastcall_shutdown_duration_seconds_count{outcome="failed"}')).toBe(1)
    expect(after.get('lastcall_hook_failures_total{phase="stores",hook="broken",outcome="error"}')).toBe(1)
    expect(after.get('lastcall_hook_duration_seconds_count{phase="default",hook="flush",outcome="ok"}')).toBe(1)
    expect(after.has('lastcall_hook_failures_total{phase="default",hook="flush",outcome="ok"}')).toBe(false)
    expect(after.get('lastcall_shutdown_requests_forced_total')).toBe(0)
  })

  it('counts requests rejected and connections forced during the drain', async () => {
    const { app, scrape } = await setup({ drainTimeoutMs: 300, whileDraining: 'reject', idleLingerMs: 5000 })
    const { Agent } = await import('node:http')
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    cleanup.push(() => agent.destroy())
    expect((await get(app.port, '/', { agent })).status).toBe(200)
    const hung = get(app.port, '/hang', { agent: false }).catch((error: NodeJS.ErrnoException) => error.code)
    await app.arrived(1)
    const draining = new Promise<void>((resolve) => app.shutdown.on('state', (s) => s === 'draining' && resolve()))
    const done = app.shutdown.shutdown()
    await draining
    // The idle keep-alive connection lingers: a request on it now gets 503.
    expect((await get(app.port, '/', { agent })).status).toBe(503)
    const report = await done
    expect(await hung).toBe('ECONNRESET')
    const after = await scrape()
    expect(after.get('lastcall_shutdown_requests_rejected_total')).toBe(report.requests.rejected)
    expect(report.requests.rejected).toBe(1)
    expect(after.get('lastcall_shutdown_requests_forced_total')).toBe(1)
    expect(after.get('lastcall_shutdown_connections_forced_total')).toBe(report.connections.forced)
    expect(report.connections.forced).toBeGreaterThanOrEqual(1)
    expect(after.get('lastcall_shutdowns_total{trigger="manual",outcome="failed"}')).toBe(1)
  })

  it('registers every figure, with HELP and TYPE, in the given registry only', async () => {
    const { registry } = await setup()
    const text = await registry.metrics()
    for (const figure of Object.values(FIGURES)) {
      expect(text).toContain(`# HELP lastcall_${figure.name} ${figure.help}`)
      expect(text).toContain(`# TYPE lastcall_${figure.name} ${figure.type}`)
    }
  })

  it('honours a prefix, and remove() unregisters everything', async () => {
    const app = await startApp()
    cleanup.push(() => app.close())
    const registry = new Registry()
    const metrics = prometheusMetrics(app.shutdown, { registry, prefix: 'myapp_' })
    expect(metrics.names).toContain('myapp_requests_in_flight')
    expect(await registry.getSingleMetricAsString('myapp_state')).toContain('myapp_state{state="serving"} 1')
    metrics.remove()
    expect((await registry.metrics()).trim()).toBe('')
    expect(() => prometheusMetrics(app.shutdown, { registry, prefix: 'bad prefix' })).toThrow(/option "prefix"/)
  })
})

describe('metricsHandler', () => {
  it('answers GET with the text format and its content type, HEAD without a body, other methods with 405', async () => {
    const registry = new Registry()
    const server = createServer(metricsHandler(registry))
    const port = await listen(server)
    cleanup.push(() => server.close())
    const app = await startApp()
    cleanup.push(() => app.close())
    prometheusMetrics(app.shutdown, { registry })
    const { request } = await import('node:http')
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.headers))
      }).on('error', reject).end()
    })
    expect(headers['content-type']).toBe(registry.contentType)
    expect((await get(port, '/metrics', { agent: false })).body).toContain('lastcall_state{state="serving"} 1')
    expect((await get(port, '/metrics', { agent: false, method: 'HEAD' })).body).toBe('')
    expect((await get(port, '/metrics', { agent: false, method: 'POST' })).status).toBe(405)
  })
})
