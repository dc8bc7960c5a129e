import { once } from 'node:events'
import { Redis } from './ioredis.js'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closeRedis } from '@lastcall/resources/redis'
import { killFixtures, startFixture } from './child.js'
import { missing, needs, redis as service, unique } from './services.js'

describe.skipIf(missing(service))(needs('closeRedis', service), () => {
  let admin: Redis
  beforeAll(() => {
    admin = new Redis(service.url!)
  })
  afterEach(async () => {
    killFixtures()
    // CLIENT UNPAUSE is itself paused on Redis 7.0: a PING answers when the pause is over.
    await admin.ping()
  })
  afterAll(async () => {
    await admin?.quit()
  })

  function quiet() {
    return createShutdown({ signals: [], exit: false, logger: false })
  }

  it('quits an ioredis client in the stores phase, after replies to commands already sent', async () => {
    const client = new Redis(service.url!)
    const key = unique('k')
    await client.ping()
    const shutdown = quiet()
    closeRedis(shutdown, client)
    const write = client.set(key, 'v')
    const ended = once(client, 'end')
    const report = await shutdown.shutdown()
    expect(await write).toBe('OK')
    expect(await admin.get(key)).toBe('v')
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'redis', phase: 'stores', outcome: 'ok' })])
    await ended
    await admin.del(key)
  })

  it('closes a node-redis client, waiting for pending commands', async () => {
    const client = createClient({ url: service.url! })
    await client.connect()
    const key = unique('k')
    const shutdown = quiet()
    closeRedis(shutdown, client, { name: 'cache' })
    const write = client.set(key, 'v')
    const report = await shutdown.shutdown()
    expect(await write).toBe('OK')
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'cache', phase: 'stores', outcome: 'ok' })])
    expect(client.isOpen).toBe(false)
    await admin.del(key)
  })

  it('falls back to disconnect() (ioredis) and destroy() (node-redis) when Redis is paused past the timeout', async () => {
    const io = new Redis(service.url!, { maxRetriesPerRequest: 1 })
    await io.ping()
    const nr = createClient({ url: service.url! })
    nr.on('error', () => {})
    await nr.connect()
    const shutdown = quiet()
    closeRedis(shutdown, io, { name: 'io', timeoutMs: 300 })
    closeRedis(shutdown, nr, { name: 'nr', timeoutMs: 300 })
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL')
    // A command in flight: node-redis close() waits for it, ioredis quit() is paused itself.
    const pending = nr.get('x').catch((error: Error) => error)
    const report = await shutdown.shutdown()
    expect(report.hooks.map((h) => [h.name, h.outcome])).toEqual([['io', 'timeout'], ['nr', 'timeout']])
    // ioredis ends its socket and destroys it after its disconnectTimeout (2 s) if the server does not answer.
    if (io.status !== 'end') await once(io, 'end')
    expect(nr.isOpen).toBe(false)
    expect(await pending).toBeInstanceOf(Error)
  })

  for (const kind of ['ioredis', 'node-redis'] as const) {
    it(`${kind}: a paused Redis times the hook out, later hooks still run, exit code 1, within timeoutMs`, async () => {
      const timeoutMs = 3000
      const app = startFixture('redis-app', { LASTCALL_REDIS_URL: service.url!, CLIENT: kind, KEY: unique('k'), TIMEOUT_MS: String(timeoutMs), REDIS_HOOK_TIMEOUT_MS: '500' })
      await app.waitFor((e) => e.ready, 'ready')
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL')
      const sent = performance.now()
      app.child.kill('SIGTERM')
      const { code, report, at } = await app.exited
      expect(code).toBe(1)
      const hooks = Object.fromEntries(report!.hooks.map((h) => [h.name, h.outcome]))
      expect(hooks).toEqual({ 'save-state': 'timeout', redis: 'timeout', marker: 'ok' })
      // The fallback ran: the client was closed hard before the report.
      // node-redis: destroy() closed it at once. (ioredis's disconnect() only ends the socket; the in-process test above waits for its 'end'.)
      if (kind === 'node-redis') expect(app.events.find((e) => e.status)?.status).toBe('closed')
      expect(at - sent).toBeLessThan(timeoutMs)
    })
  }

  it('reports a client that was already closed instead of throwing', async () => {
    const io = new Redis(service.url!)
    await io.ping()
    // quit() resolves on the server's OK; the status turns 'end' only when the socket has closed after it.
    const ended = once(io, 'end')
    await io.quit()
    await ended
    const nr = createClient({ url: service.url! })
    await nr.connect()
    await nr.close()
    const shutdown = quiet()
    closeRedis(shutdown, io, { name: 'io' })
    closeRedis(shutdown, nr, { name: 'nr' })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([
      expect.objectContaining({ name: 'io', outcome: 'error', error: expect.stringMatching(/already closed/) }),
      expect.objectContaining({ name: 'nr', outcome: 'error', error: expect.stringMatching(/already closed/) }),
    ])
    expect(report.exitCode).toBe(1)
  })

  it('rejects what is not a Redis client with LastcallOptionError', () => {
    expect(() => closeRedis(quiet(), {} as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
  })
})
