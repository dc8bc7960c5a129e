import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import memjs from 'memjs'
import { describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closeMemcached } from '@lastcall/resources/memcached'
import { memcached as service, missing, needs, unique } from './services.js'

function quiet() {
  return createShutdown({ signals: [], exit: false, logger: false })
}

describe.skipIf(missing(service))(needs('closeMemcached', service), () => {
  it('quits in the stores phase after replies to commands already sent', async () => {
    const client = memjs.Client.create(service.url!, { retries: 0, logger: { log: () => {} } })
    const key = unique('k')
    const shutdown = quiet()
    closeMemcached(shutdown, client)
    const write = client.set(key, 'v', { expires: 60 })
    const report = await shutdown.shutdown()
    expect(await write).toBe(true)
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'memcached', phase: 'stores', outcome: 'ok' })])
    const check = memjs.Client.create(service.url!, { logger: { log: () => {} } })
    expect((await check.get(key)).value?.toString()).toBe('v')
    await check.delete(key)
    check.close()
  })

  it('reports a server that is gone at shutdown, exit code 1', async () => {
    // A port that was just listening and is now closed: nothing answers there.
    const probe = createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const { port } = probe.address() as { port: number }
    probe.close()
    const client = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, logger: { log: () => {} } })
    const shutdown = quiet()
    closeMemcached(shutdown, client)
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'memcached', outcome: 'error', error: expect.stringMatching(/ECONNREFUSED/) })])
    expect(report.exitCode).toBe(1)
  })

  it('closes hard when a server hangs past the timeout', async () => {
    // A server that accepts and never answers.
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s.resume())).listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const { port } = silent.address() as { port: number }
    const client = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, logger: { log: () => {} } })
    const shutdown = quiet()
    closeMemcached(shutdown, client, { timeoutMs: 300 })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'memcached', outcome: 'timeout' })])
    // close() ended the connection: the silent server sees it go.
    if (!sockets[0]!.readableEnded) await once(sockets[0]!, 'end')
    silent.close()
  })

  it('rejects what is not a memjs client', () => {
    expect(() => closeMemcached(quiet(), {} as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
  })
})
