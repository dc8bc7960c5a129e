import { constants } from 'node:os'
import { describe, expect, it } from 'vitest'
import { ShutdownController } from '../src/index.js'
import { ProcessCoordinator, SAME_SIGNAL_WINDOW_MS, signalExitCode } from '../src/process/signals.js'
import { STOP_SIGNALS } from '../src/validate.js'
import { FakeClock } from './fakeClock.js'
import { FakeProcess } from './fakeProcess.js'

function setup(options: ConstructorParameters<typeof ShutdownController>[0] = {}) {
  const clock = new FakeClock()
  const proc = new FakeProcess(() => clock.now())
  const host = new ProcessCoordinator(proc)
  const controller = new ShutdownController({ logger: false, readinessDelayMs: 0, clock, ...options }, host)
  return { clock, proc, controller }
}

describe('signalExitCode', () => {
  it('is 128 + the number this platform gives each stop signal', () => {
    for (const signal of STOP_SIGNALS) {
      if (signal === 'SIGBREAK') continue
      expect(signalExitCode(signal)).toBe(128 + (constants.signals as Record<string, number>)[signal]!)
    }
    expect(signalExitCode('SIGHUP')).toBe(129)
  })
})

describe('ProcessCoordinator', () => {
  it(`counts the same signal within ${SAME_SIGNAL_WINDOW_MS} ms as one, and exits with 128 + n on a real second one`, async () => {
    const { clock, proc, controller } = setup()
    controller.onShutdown('stuck', () => new Promise(() => {}), { timeoutMs: 60_000 })
    proc.emit('SIGTERM')
    await clock.advance(SAME_SIGNAL_WINDOW_MS - 1)
    proc.emit('SIGTERM')
    expect(proc.exits).toEqual([])
    await clock.advance(1)
    proc.emit('SIGTERM')
    expect(proc.exits).toEqual([143])
    expect(controller.report).toMatchObject({ exitCode: 143, secondSignal: 'SIGTERM', pending: ['hook stuck'] })
  })

  it('takes a signal after shutdown() as the first one, and only the next as a second', async () => {
    const { clock, proc, controller } = setup()
    controller.onShutdown('stuck', () => new Promise(() => {}), { timeoutMs: 60_000 })
    void controller.shutdown('app')
    await clock.advance(10)
    proc.emit('SIGINT')
    expect(proc.exits).toEqual([])
    await clock.advance(500)
    proc.emit('SIGINT')
    expect(proc.exits).toEqual([130])
    expect(controller.report).toMatchObject({ trigger: { type: 'manual' }, exitCode: 130, secondSignal: 'SIGINT' })
  })

  it('turns an unexpected exit(0) during the shutdown into 1 and says which hook was running', async () => {
    const { clock, proc, controller } = setup()
    controller.onShutdown('flusher', () => new Promise(() => {}), { phase: 'telemetry', timeoutMs: 60_000 })
    proc.emit('SIGTERM')
    await clock.advance(1)
    proc.exit(0)
    expect(proc.exitedWith).toBe(1)
    expect(proc.lines).toEqual([
      '[lastcall] the process is exiting with code 1 (process.exit(0) was called) before its shutdown finished (state closing, hooks running: flusher): something called process.exit(); no report was made',
    ])
  })
})
