import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('@lastcall/testing under node:test', () => {
  it('runs the same drain assertions with `node --test` (no vitest involved)', async () => {
    const file = join(import.meta.dirname, 'fixtures', 'drains.node-test.mjs')
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', '--test', '--test-reporter=spec', file], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    try {
      const [code] = (await once(child, 'exit')) as [number | null]
      expect(output).toContain('the lastcall app drains')
      expect(output).toMatch(/pass 2/)
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
})
