// Before/after measurements for the drain's traffic shapes (see docs/guarantees.md).
//
//   node bench/drain-shapes/run.mjs hammer  --core <path> [--runs 10]
//   node bench/drain-shapes/run.mjs linger  --core <path> [--runs 10] [--hint on|off]   (keepAliveHint)
//
// hammer: 8 keep-alive http.Agent loops and 4 fetch loops hammer an app whose
//   responses are early-flushed; SIGTERM after 400 responses (no readiness delay,
//   the harshest case: the drain starts at once). Counts failures on reused
//   connections (a refused new connection is not one: nothing was sent).
// linger: 40 clients (20 http.Agent with one socket each, 20 fetch loops) each send
//   a request, then wait 150-350 ms, and again, through a 1 s readiness delay and
//   the drain (linger 250 ms), so requests keep landing around the moment idle
//   sockets are closed. Counts the same failures.
import { spawn } from 'node:child_process'
import { subscribe } from 'node:diagnostics_channel'
import { Agent, request } from 'node:http'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { core: { type: 'string' }, runs: { type: 'string', default: '10' }, hint: { type: 'string', default: 'off' } },
})
const mode = positionals[0]
if (!['hammer', 'linger'].includes(mode) || !values.core) {
  console.error('usage: run.mjs hammer|linger --core <core index.js|index.ts> [--runs N] [--hint on|off]')
  process.exit(2)
}

function start(env) {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./server.mjs', import.meta.url).pathname], {
    env: { ...process.env, LASTCALL_CORE: values.core, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const events = []
  const waiters = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line)
    events.push(event)
    for (const w of waiters.splice(0)) w()
  })
  const next = async (name) => {
    for (;;) {
      const found = events.find((e) => e.event === name)
      if (found) return found
      await new Promise((resolve) => waiters.push(resolve))
    }
  }
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return { child, next, exited }
}

function get(port, agent) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ ok: true }))
      res.on('error', (e) => resolve({ ok: false, code: e.code, reused: req.reusedSocket }))
    })
    req.on('error', (e) => resolve({ ok: false, code: e.code, reused: req.reusedSocket }))
    req.end()
  })
}

// fetch does not say whether it reused a connection: undici's diagnostics channel
// shows each request's socket, and a socket seen before means reuse.
const requestsOnSocket = new WeakMap()
const reusedById = new Map()
subscribe('undici:client:sendHeaders', ({ request, socket }) => {
  const seen = requestsOnSocket.get(socket) ?? 0
  requestsOnSocket.set(socket, seen + 1)
  const id = /x-id: (\d+)/i.exec(request.headers)?.[1] ?? (Array.isArray(request.headers) ? request.headers[request.headers.indexOf('x-id') + 1] : undefined)
  if (id !== undefined) reusedById.set(String(id), seen > 0)
})
let nextId = 0

async function fetchOnce(port) {
  const id = String(++nextId)
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-id': id } })
    await res.arrayBuffer()
    return { ok: true }
  } catch (error) {
    const code = error.cause?.code ?? error.cause?.message ?? String(error)
    return { ok: false, code, reused: reusedById.get(id) === true }
  } finally {
    reusedById.delete(id)
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function once(run) {
  const app = start(mode === 'hammer' ? {} : { DELAY_MS: '1000', HINT: values.hint })
  const { port } = await app.next('listening')
  // failed: on a connection used before (the ones that count); fresh: on a new connection
  // whose connect succeeded (the listener closed with it still in its accept queue).
  const tally = { agent: { ok: 0, failed: 0, fresh: 0, codes: [] }, fetch: { ok: 0, failed: 0, fresh: 0, codes: [] } }
  let total = 0
  let stopping = false
  const count = (kind, outcome) => {
    if (outcome.ok) {
      tally[kind].ok++
      if (++total === 400 && mode === 'hammer') app.child.kill('SIGTERM')
      return true
    }
    if (outcome.code === 'ECONNREFUSED') return false
    if (outcome.reused) tally[kind].failed++
    else tally[kind].fresh++
    tally[kind].codes.push(`${outcome.code}${outcome.reused ? '' : ' (new)'}`)
    return true
  }
  const loop = async (kind, send, gap) => {
    // Bounded: until a new connection is refused, 5,000 requests, or the app exited.
    for (let n = 0; n < 5000 && !stopping; n++) {
      if (!count(kind, await send())) return
      if (gap) await pause(gap())
    }
  }
  const clients = []
  if (mode === 'hammer') {
    for (let i = 0; i < 8; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      clients.push(loop('agent', () => get(port, agent)).finally(() => agent.destroy()))
    }
    for (let i = 0; i < 4; i++) clients.push(loop('fetch', () => fetchOnce(port)))
  } else {
    const gap = () => 150 + Math.random() * 200
    for (let i = 0; i < 20; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      clients.push(loop('agent', () => get(port, agent), gap).finally(() => agent.destroy()))
    }
    for (let i = 0; i < 20; i++) clients.push(loop('fetch', () => fetchOnce(port), gap))
    // Everyone has warmed a socket: stop the app.
    await pause(600)
    app.child.kill('SIGTERM')
  }
  const { report } = await app.next('report')
  const code = await app.exited
  stopping = true
  await Promise.all(clients)
  return { run, tally, exitCode: code, aborted: report.requests.aborted, closedByClient: report.connections.closedByClient }
}

const rows = []
for (let run = 1; run <= Number(values.runs); run++) {
  const row = await once(run)
  rows.push(row)
  console.log(JSON.stringify(row))
}
const sum = (kind, field = 'failed') => rows.reduce((n, r) => n + r.tally[kind][field], 0)
const perRun = (kind) => rows.map((r) => r.tally[kind].failed).join(' ')
console.log(JSON.stringify({
  mode, core: values.core, hint: values.hint, runs: rows.length,
  agentFailures: sum('agent'), fetchFailures: sum('fetch'), agentPerRun: perRun('agent'), fetchPerRun: perRun('fetch'),
  agentFreshResets: sum('agent', 'fresh'), fetchFreshResets: sum('fetch', 'fresh'),
  requests: rows.reduce((n, r) => n + r.tally.agent.ok + r.tally.fetch.ok, 0),
}))
