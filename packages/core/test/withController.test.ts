import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { withController } from '../src/adapter.js'
import { createShutdown, ShutdownController } from '../src/index.js'

const quiet = { logger: false, signals: [], exit: false, readinessDelayMs: 0 } as const

describe('withController', () => {
  it('returns the function itself, with the controller API on it', () => {
    const controller = createShutdown(quiet)
    const fn = function lastcall(_a: unknown, _b: unknown, _c: unknown): void {}
    const shutdown = withController(fn, controller)
    expect(shutdown).toBe(fn)
    expect(shutdown.length).toBe(3)
    expect(shutdown.name).toBe('lastcall')
    expect(shutdown).toBeInstanceOf(ShutdownController)
    expect(controller).toBeInstanceOf(ShutdownController)
    expect(fn.call).toBe(Function.prototype.call)
    expect(shutdown.state).toBe('starting')
    expect(shutdown.options).toBe(controller.options)
    // Defined once: the same function on every read.
    expect(shutdown.onShutdown).toBe(shutdown.onShutdown)
    // Nothing shows up as data of the function.
    expect(Object.keys(shutdown)).toEqual([])
  })

  it('does not make every function an instance', () => {
    expect(() => {}).not.toBeInstanceOf(ShutdownController)
    expect({}).not.toBeInstanceOf(ShutdownController)
    expect(null).not.toBeInstanceOf(ShutdownController)
  })

  it('runs methods on the controller, and chains on the function', async () => {
    const controller = createShutdown(quiet)
    const shutdown = withController(() => {}, controller)
    const seen: string[] = []
    const chained = shutdown.on('state', (state) => seen.push(`a:${state}`)).once('closed', () => seen.push('closed'))
    expect(chained).toBe(shutdown)
    expect(controller.listenerCount('state')).toBe(1)
    shutdown.onShutdown('hook', () => void seen.push('hook'))
    const report = await shutdown.shutdown('test')
    expect(seen).toEqual(['a:leaving', 'a:draining', 'a:closing', 'hook', 'a:closed', 'closed'])
    expect(shutdown.report).toBe(report)
    expect(controller.report).toBe(report)
  })

  it('inspects as the middleware of a controller with its state', () => {
    const shutdown = withController(function lastcall() {}, createShutdown(quiet))
    expect(inspect(shutdown)).toBe("[lastcall of ShutdownController] { state: 'starting', inFlight: 0 }")
  })
})
