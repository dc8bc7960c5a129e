import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { consulDeregister, deregisterOnShutdown, eurekaDeregister } from '@lastcall/resources/discovery'
import { revokeEtcdLease } from '@lastcall/resources/etcd'
import { cuttableProxy } from './proxy.js'
import { etcd as service, missing, needs, unique } from './services.js'

function quiet(options: Record<string, unknown> = {}) {
  return createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 200, ...options })
}

describe.skipIf(missing(service))(needs('revokeEtcdLease', service), () => {
  let etcd: Etcd3
  beforeAll(() => {
    etcd = new Etcd3({ hosts: service.url! })
  })
  afterAll(() => etcd?.close())

  it('revokes the lease in the deregister phase, during the readiness delay: watchers see the instance go', async () => {
    const prefix = `${unique('services')}/api/`
    const lease = etcd.lease(30)
    await lease.put(`${prefix}instance-1`).value('127.0.0.1:8080')
    const watcher = await etcd.watch().prefix(prefix).create()
    const deleted = once(watcher, 'delete')
    const shutdown = quiet()
    const states: string[] = []
    shutdown.on('state', (state) => states.push(state))
    revokeEtcdLease(shutdown, lease)
    const done = shutdown.shutdown()
    const [event] = (await deleted) as [{ key: Buffer }]
    // Seen while the readiness delay still runs: before the drain.
    expect(states).toEqual(['leaving'])
    expect(event.key.toString()).toBe(`${prefix}instance-1`)
    const report = await done
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'etcd', phase: 'deregister', outcome: 'ok' })])
    // It started with the shutdown, not after the 200 ms readiness delay.
    expect(report.hooks[0]!.startMs).toBeLessThan(50)
    expect(await etcd.getAll().prefix(prefix).keys()).toEqual([])
    await watcher.cancel()
  })

  it('reports etcd unreachable at shutdown, never delays the drain, exit code 1', async () => {
    // The instance reaches etcd through a proxy; cutting it takes etcd away from the instance alone.
    const target = new URL(service.url!)
    const proxy = await cuttableProxy(target.hostname, Number(target.port))
    const instance = new Etcd3({ hosts: `http://127.0.0.1:${proxy.port}` })
    const prefix = `${unique('services')}/api/`
    const lease = instance.lease(30)
    lease.on('lost', () => {})
    await lease.put(`${prefix}instance-1`).value('127.0.0.1:8080')
    proxy.cut()

    const shutdown = quiet()
    const drainAt: number[] = []
    shutdown.on('state', (state) => state === 'draining' && drainAt.push(performance.now()))
    const started = performance.now()
    revokeEtcdLease(shutdown, lease, { timeoutMs: 1500 })
    const report = await shutdown.shutdown()
    const hook = report.hooks[0]!
    expect(hook).toMatchObject({ name: 'etcd', phase: 'deregister' })
    expect(hook.outcome === 'timeout' || (hook.outcome === 'error' && /deregistration failed/.test(hook.error!))).toBe(true)
    expect(report.exitCode).toBe(1)
    expect(hook.error ?? '').not.toMatch(/undefined/)
    // The drain began when the readiness delay (200 ms) ended, whatever the registry did.
    expect(drainAt[0]! - started).toBeGreaterThanOrEqual(190)
    expect(drainAt[0]! - started).toBeLessThan(400)
    // The key is still there: it goes when the lease's TTL runs out.
    expect(await etcd.getAll().prefix(prefix).keys()).toEqual([`${prefix}instance-1`])
    await etcd.delete().prefix(prefix)
    instance.close()
  })
})

describe('deregisterOnShutdown', () => {
  async function registry(status = 200) {
    const seen: { method: string; url: string; token: string | undefined }[] = []
    const server = createServer((req: IncomingMessage, res) => {
      seen.push({ method: req.method!, url: req.url!, token: req.headers['x-consul-token'] as string | undefined })
      res.statusCode = status
      res.end()
    }).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    return { url: `http://127.0.0.1:${port}`, seen, close: () => server.close() }
  }

  it("sends Consul's and Eureka's deregistration requests in the deregister phase", async () => {
    const consul = await registry()
    const eureka = await registry()
    const shutdown = quiet({ readinessDelayMs: 0 })
    deregisterOnShutdown(shutdown, consulDeregister({ url: consul.url, serviceId: 'api-1', token: 't' }), { name: 'consul' })
    deregisterOnShutdown(shutdown, eurekaDeregister({ url: `${eureka.url}/eureka/`, app: 'api', instanceId: 'host:api:8080' }), { name: 'eureka' })
    const report = await shutdown.shutdown()
    expect(report.hooks.map((h) => [h.name, h.phase, h.outcome])).toEqual([['consul', 'deregister', 'ok'], ['eureka', 'deregister', 'ok']])
    expect(consul.seen).toEqual([{ method: 'PUT', url: '/v1/agent/service/deregister/api-1', token: 't' }])
    expect(eureka.seen).toEqual([{ method: 'DELETE', url: '/eureka/apps/API/host%3Aapi%3A8080', token: undefined }])
    consul.close()
    eureka.close()
  })

  it('reports a registry that refuses, exit code 1', async () => {
    const consul = await registry(500)
    const shutdown = quiet({ readinessDelayMs: 0 })
    deregisterOnShutdown(shutdown, consulDeregister({ url: consul.url, serviceId: 'api-1' }), { name: 'consul' })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'consul', outcome: 'error', error: expect.stringMatching(/deregistration failed: PUT .* answered 500/) })])
    expect(report.exitCode).toBe(1)
    consul.close()
  })

  it('rejects options that name no instance', () => {
    expect(() => consulDeregister({ url: 'http://x', serviceId: '' })).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
    expect(() => deregisterOnShutdown(quiet(), 'nope' as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
  })
})

describe('deregisterOnShutdown with a registry that hangs', () => {
  it('lets the drain start on time while the deregistration waits, then reports its timeout', async () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 100 })
    let drainingWhileWaiting = false
    deregisterOnShutdown(shutdown, ({ signal }) => new Promise((resolve) => {
      shutdown.on('state', (state) => {
        if (state === 'draining' && !signal.aborted) drainingWhileWaiting = true
      })
      signal.addEventListener('abort', resolve)
    }), { name: 'slow', timeoutMs: 600 })
    const report = await shutdown.shutdown()
    expect(drainingWhileWaiting).toBe(true)
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'slow', phase: 'deregister', outcome: 'timeout' })])
    expect(report.exitCode).toBe(1)
  })
})
