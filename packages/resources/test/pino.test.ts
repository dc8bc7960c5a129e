import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createShutdown } from '@lastcall/core'
import { closePino } from '@lastcall/resources/pino'
import { killFixtures, startFixture } from './child.js'

describe('closePino', () => {
  afterEach(() => killFixtures())

  it('flushes last; the shutdown’s own final line still reaches the file, and nothing throws after the close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lastcall-pino-'))
    try {
      const file = join(dir, 'app.log')
      const app = startFixture('pino-app', { LOG_FILE: file })
      await app.waitFor((e) => e.ready, 'ready')
      app.child.kill('SIGTERM')
      const { code, report } = await app.exited
      expect(code).toBe(0)
      expect(report, `events: ${JSON.stringify(app.events)} stderr: ${app.stderr()}`).toBeDefined()
      expect(report!.hooks.map((h) => [h.name, h.phase, h.outcome])).toEqual([['db', 'stores', 'ok'], ['pino', 'telemetry', 'ok']])
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg as string)
      expect(lines[0]).toBe('started')
      expect(lines).toContain('stores hook ran')
      expect(lines.at(-1)).toMatch(/^shutdown finished with exit code 0/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('closes the destination once the report is final, not inside the hook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lastcall-pino-'))
    try {
      const destination = pino.destination({ dest: join(dir, 'a.log'), sync: false })
      const logger = pino(destination)
      const shutdown = createShutdown({ signals: [], exit: false, logger })
      let closedDuringHooks = false
      shutdown.onShutdown('after-pino', () => {}, { phase: 'telemetry' })
      closePino(shutdown, logger, { destination })
      destination.on('close', () => (closedDuringHooks = shutdown.state !== 'closed'))
      const closed = new Promise((resolve) => destination.once('close', resolve))
      const report = await shutdown.shutdown()
      await closed
      expect(closedDuringHooks).toBe(false)
      expect(report.exitCode).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rejects what is not a pino logger with LastcallOptionError', () => {
    const shutdown = createShutdown({ signals: [], exit: false, logger: false })
    expect(() => closePino(shutdown, {} as never)).toThrow(expect.objectContaining({ code: 'LASTCALL_INVALID_OPTION' }))
  })
})
