// Floods /readyz from one client, as anyone who can reach the probe could, and measures what it costs the server:
//   heap:  15,000 probes, each with its own 8 KB User-Agent; the server's heap after GC before and after
//   time:  30,000 probes with distinct User-Agents against 30,000 from one User-Agent, on fresh servers: wall-clock
//          and the server's own CPU time (less at the mercy of other load on the machine)
// node bench/probe-flood/run.mjs   (uses the built @lastcall/core: pnpm run build first)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const CONCURRENCY = 16
const UA_BYTES = 8 * 1024

async function startServer() {
  const child = spawn(process.execPath, ['--expose-gc', join(import.meta.dirname, 'server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(createInterface({ input: child.stdout }), 'line')
  return { child, port: JSON.parse(line).port }
}

function get(port, path, agent, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

async function flood(port, count, userAgent) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const i = next++
      await get(port, '/readyz', agent, { 'user-agent': userAgent(i) })
    }
  }))
  const ms = performance.now() - started
  agent.destroy()
  return ms
}

const stats = async (port) => JSON.parse(await get(port, '/__stats', false))
const distinct = (i) => `${String(i).padStart(8, '0')}${'x'.repeat(UA_BYTES - 8)}`
const same = () => `kube-probe/1.30${'x'.repeat(UA_BYTES - 16)}`

const results = {}
{
  const { child, port } = await startServer()
  const before = await stats(port)
  const ms = await flood(port, 15_000, distinct)
  const after = await stats(port)
  const mb = (s) => +(s.heapUsed / 2 ** 20).toFixed(1)
  results.heap = { probes: 15_000, floodMs: Math.round(ms), heapBeforeMb: mb(before), heapAfterMb: mb(after) }
  child.kill()
}
for (const [name, userAgent] of [['distinctUserAgents', distinct], ['oneUserAgent', same]]) {
  const { child, port } = await startServer()
  const before = await stats(port)
  const ms = await flood(port, 30_000, userAgent)
  const after = await stats(port)
  results[name] = { probes: 30_000, ms: Math.round(ms), serverCpuMs: Math.round(after.cpuMs - before.cpuMs) }
  child.kill()
}
console.log(JSON.stringify(results))
