import { createServer } from 'node:http'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { createShutdown } from '../src/index.js'

describe('ShutdownController.shutdown', () => {
  it('starts at the drain when asked to skip the readiness delay', async () => {
    const shutdown = createShutdown({ logger: false, signals: [], exit: false, readinessDelayMs: 60_000, timeoutMs: 90_000 })
    const server = shutdown.attach(createServer((_req, res) => res.end('ok')))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const states: string[] = []
    shutdown.on('state', (state) => states.push(state))
    const report = await shutdown.shutdown('host closing', { skipReadinessDelay: true })
    expect(states).toEqual(['leaving', 'draining', 'closing', 'closed'])
    expect(report.readinessDelay).toMatchObject({ durationMs: 0, rule: 'none' })
    expect(report.exitCode).toBe(0)
  })
})
