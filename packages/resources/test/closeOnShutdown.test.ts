import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createShutdown, LastcallOptionError } from '@lastcall/core'
import { withController } from '@lastcall/core/adapter'
import { closeOnShutdown } from '@lastcall/resources'

function quiet() {
  return createShutdown({ signals: [], exit: false, logger: false })
}

describe('closeOnShutdown', () => {
  it('awaits the first close method the resource has, in the stores phase by default', async () => {
    // A real resource with an async end(): a net server wrapped the way many clients expose close.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const resource = { end: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))) }
    const shutdown = quiet()
    closeOnShutdown(shutdown, resource, { name: 'server' })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'server', phase: 'stores', outcome: 'ok' })])
    expect(server.listening).toBe(false)
  })

  it('reports an already closed resource (isClosed) and one whose close fails, and runs the rest', async () => {
    const server = createServer() // never listening: close() fails with ERR_SERVER_NOT_RUNNING
    const failing = { close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))) }
    const shutdown = quiet()
    let ran = false
    closeOnShutdown(shutdown, failing, { name: 'failing' })
    closeOnShutdown(shutdown, { quit: () => {} }, { name: 'gone', isClosed: () => true })
    shutdown.onShutdown('last', () => void (ran = true), { phase: 'telemetry' })
    const report = await shutdown.shutdown()
    const byName = Object.fromEntries(report.hooks.map((h) => [h.name, h]))
    expect(byName.failing).toMatchObject({ outcome: 'error', error: expect.stringMatching(/close\(\) failed: .*not running/i) })
    expect(byName.gone).toMatchObject({ outcome: 'error', error: expect.stringMatching(/already closed/) })
    expect(byName.last).toMatchObject({ outcome: 'ok' })
    expect(ran).toBe(true)
    expect(report.exitCode).toBe(1)
  })

  it('takes an adapter\'s controller, a middleware function that is also the controller (found by the packed-tarball consumer test)', async () => {
    const shutdown = withController(() => {}, quiet())
    closeOnShutdown(shutdown, { close: async () => {} }, { name: 'store' })
    const report = await shutdown.shutdown()
    expect(report.hooks).toEqual([expect.objectContaining({ name: 'store', outcome: 'ok' })])
  })

  it('calls force() when the hook times out', async () => {
    let forced = false
    const shutdown = quiet()
    closeOnShutdown(shutdown, { close: () => new Promise(() => {}) }, { name: 'stuck', timeoutMs: 50, force: () => void (forced = true) })
    const report = await shutdown.shutdown()
    expect(report.hooks[0]).toMatchObject({ name: 'stuck', outcome: 'timeout' })
    expect(forced).toBe(true)
  })

  it('validates its arguments with LastcallOptionError naming the option', () => {
    const shutdown = quiet()
    expect(() => closeOnShutdown(shutdown, {} as never)).toThrow(LastcallOptionError)
    expect(() => closeOnShutdown(shutdown, { close() {} }, { method: 'end' })).toThrow(/closeOnShutdown\(options\)\.method/)
    expect(() => closeOnShutdown(shutdown, { close() {} }, { phase: 'nope' })).toThrow(/phase/)
    expect(() => closeOnShutdown(shutdown, { close() {} }, { timeoutMs: -1 })).toThrow(/timeoutMs/)
    expect(() => closeOnShutdown(shutdown, { close() {} }, { bogus: 1 } as never)).toThrow(/closeOnShutdown\(options\)\.bogus/)
    expect(() => closeOnShutdown({} as never, { close() {} })).toThrow(/controller/)
  })

  it('puts a hook in any phase by name', async () => {
    const shutdown = quiet()
    closeOnShutdown(shutdown, { close: async () => {} }, { name: 'early', phase: 'intake' })
    const report = await shutdown.shutdown()
    expect(report.hooks[0]).toMatchObject({ name: 'early', phase: 'intake', outcome: 'ok' })
  })
})
