/**
 * Each example is run as a user would run it (`node express.mjs` on the built
 * packages), gets a request in flight, then a real SIGTERM: the request
 * completes, the report is printed and the process exits 0.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject).end()
  })
}

describe.each(['express', 'koa', 'fastify', 'hono', 'nestjs'])('examples/frameworks/%s.mjs', (name) => {
  it('serves, finishes the request in flight on SIGTERM, prints the report and exits 0', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', `${name}.mjs`)], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      let output = ''
      const lines = createInterface({ input: child.stdout })
      const port = await new Promise<number>((resolve, reject) => {
        lines.on('line', (line) => {
          output += `${line}\n`
          const match = /^listening on (\d+)$/.exec(line)
          if (match) resolve(Number(match[1]))
        })
        child.once('exit', () => reject(new Error(`exited before listening: ${output}`)))
      })
      expect(await get(port, '/')).toEqual({ status: 200, body: 'hello\n' })
      expect((await get(port, '/readyz')).status).toBe(200)
      const slow = get(port, '/slow')
      // SIGTERM while /slow is on its way. No wait needed: requests arrived in the last
      // quiet window (500 ms), so the automatic readiness delay keeps serving at least that long.
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      expect((await slow).status).toBe(200)
      expect(code).toBe(0)
      expect(output).toContain('lastcall shutdown (SIGTERM): clean, exit 0')
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
