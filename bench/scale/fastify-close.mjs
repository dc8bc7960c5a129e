// Fastify's 73-second close: `app.close()` while a keep-alive client has a
// request in flight, with and without @lastcall/fastify.
//
//   pnpm build && node bench/scale/fastify-close.mjs [--long] [--repeat 3] [--request-ms 1000] [--cap-s 80] [--out docs/bench]
//   node bench/scale/fastify-close.mjs --chart-only     # redraw the SVG from the JSON
//
// Cases (each trial in a fresh child process: one Fastify app, one client):
//   lastcall       Fastify's defaults (keepAliveTimeout 72 s) + @lastcall/fastify
//   keepalive-5s   no lastcall, keepAliveTimeout 5 s: the same mechanism, quickly
//   force-close    no lastcall, forceCloseConnections: true
//   defaults       no lastcall, Fastify's defaults: ~73 s, so only with --long
//                  (once; a close() still pending at the cap is reported as ≥ cap)
//
// The client is Node's http.Agent with keepAlive and no idle timeout of its
// own, which keeps its connection open as long as the server does (a load
// balancer's backend pool behaves the same; undici's fetch would close its
// idle connection after 4 s and hide the effect). A trial: the client sends
// GET /slow (answered after --request-ms); once the handler has it, the
// server calls app.close(); measured from that instant: when close()
// resolves, when the response arrived at the client and whether it is intact
// (200 and the whole body), and when the connection closed.
// Writes <out>/fastify-close.json and fastify-close.svg.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machine } from '../overhead/machine.mjs'
import { workspaceImport, workspaceVersion } from '../overhead/servers.mjs'
import { median, round } from '../overhead/stats.mjs'
import { chart } from '../overhead/svg.mjs'

const CASES = {
  lastcall: { label: 'Fastify defaults + @lastcall/fastify', fastify: {}, lastcall: true, long: false },
  'keepalive-5s': { label: 'Fastify, keepAliveTimeout 5 s', fastify: { keepAliveTimeout: 5000 }, lastcall: false, long: false },
  'force-close': { label: 'Fastify, forceCloseConnections: true', fastify: { forceCloseConnections: true }, lastcall: false, long: false },
  defaults: { label: 'Fastify defaults (keepAliveTimeout 72 s)', fastify: {}, lastcall: false, long: true },
}

const { values: args } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
    'request-ms': { type: 'string', default: '1000' },
    'cap-s': { type: 'string', default: '80' },
    case: { type: 'string' },
    'chart-only': { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('../../docs/bench', import.meta.url)) },
  },
})
const repeat = positiveInt('repeat', args.repeat)
const requestMs = positiveInt('request-ms', args['request-ms'])
const capMs = positiveInt('cap-s', args['cap-s']) * 1000
const BODY = `slow ${requestMs} ms\n`

function positiveInt(name, value) {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${value}`)
  return n
}
function fail(message) {
  console.error(`fastify-close: ${message}`)
  process.exit(2)
}

if (args.case !== undefined) {
  if (CASES[args.case] === undefined) fail(`unknown case ${args.case}; known: ${Object.keys(CASES).join(', ')}`)
  process.stdout.write(`${JSON.stringify(await trial(CASES[args.case]))}\n`)
  // The client's agent and Fastify's timers are gone; nothing should hold the
  // process, but a trial must never outlive its report.
  process.exit(0)
} else if (args['chart-only']) {
  const previous = await readPrevious()
  if (!previous) fail(`no ${args.out}/fastify-close.json to draw`)
  writeFileSync(`${args.out}/fastify-close.svg`, svg(previous))
} else {
  await main()
}

/** One trial, in this (child) process. */
async function trial(def) {
  const { default: Fastify } = await workspaceImport('fastify', 'fastify')
  const app = Fastify(def.fastify)
  if (def.lastcall) {
    const { gracefulShutdown } = await workspaceImport('fastify', '@lastcall/fastify')
    // The library's defaults, except what lets this process measure and report:
    // no exit when the shutdown ends, no signal handlers, no log lines.
    await app.register(gracefulShutdown, { exit: false, signals: [], logger: false })
  }
  let received
  const gotRequest = new Promise((resolve) => (received = resolve))
  app.get('/slow', async (request, reply) => {
    received()
    await delay(requestMs)
    return reply.type('text/plain').send(BODY)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address()

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const now = () => performance.now()
  let closeStart = Number.NaN
  const since = (t) => (t === undefined ? null : round(t - closeStart, 1))
  let socketClosedAt
  let socketClosed
  const connectionClosed = new Promise((resolve) => (socketClosed = resolve))
  const response = new Promise((resolve) => {
    const req = http.get({ agent, host: '127.0.0.1', port, path: '/slow' })
    req.on('socket', (socket) =>
      socket.once('close', () => {
        socketClosedAt = now()
        socketClosed()
      }),
    )
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ at: now(), status: res.statusCode, body, connection: res.headers.connection ?? null, keepAlive: res.headers['keep-alive'] ?? null }))
      res.on('error', (error) => resolve({ at: now(), status: res.statusCode, error: error.code ?? error.message }))
    })
    req.on('error', (error) => resolve({ at: now(), status: null, error: error.code ?? error.message }))
  })

  await gotRequest
  closeStart = now()
  let closeError = null
  const closed = app.close().then(
    () => now(),
    (error) => {
      closeError = error.message
      return now()
    },
  )
  let capTimer
  const cap = new Promise((resolve) => (capTimer = setTimeout(resolve, capMs, 'cap')))
  const outcome = await Promise.race([closed, cap])
  clearTimeout(capTimer)
  const capped = outcome === 'cap'
  const res = await response
  // The server closes the connection as close() resolves; the client sees it
  // a moment later (bounded: a connection the server left open stays open).
  if (!capped) await Promise.race([connectionClosed, delay(2000)])
  // Past the cap: the client lets go of its connection, so close() can finish
  // and this process end.
  agent.destroy()
  const closedAt = capped ? undefined : outcome
  if (capped) await closed

  const intact = res.status === 200 && res.body === BODY && res.error === undefined
  return {
    fastify: { keepAliveTimeout: app.initialConfig.keepAliveTimeout, forceCloseConnections: app.initialConfig.forceCloseConnections },
    requestMs,
    closeMs: since(closedAt),
    capped,
    capMs,
    closeError,
    responseMs: since(res.at),
    responseIntact: intact,
    responseStatus: res.status,
    responseError: res.error ?? null,
    responseConnectionHeader: res.connection ?? null,
    responseKeepAliveHeader: res.keepAlive ?? null,
    // When the client saw its connection close (after the cap: the client closing it).
    connectionClosedMs: capped ? null : since(socketClosedAt),
  }
}

/** Runs every case in child processes, writes the JSON and the SVG. */
async function main() {
  const info = machine()
  const names = Object.keys(CASES).filter((name) => args.long || !CASES[name].long)
  console.log(
    `fastify-close: ${names.join(', ')}; ${repeat} trials each (defaults: once, capped at ${capMs / 1000} s); request ${requestMs} ms; Node ${info.node}, load average ${info.loadAverageAtStart.join(' ')}`,
  )
  if (!args.long) console.log('fastify-close: add --long to measure Fastify with its defaults and no lastcall (about 75 s)')
  const results = []
  for (const name of names) {
    const def = CASES[name]
    const trials = []
    for (let i = 0; i < (def.long ? 1 : repeat); i++) {
      const t = await child(name)
      trials.push(t)
      const close = t.capped ? `≥ ${t.capMs} ms (cap)` : `${t.closeMs} ms`
      const resp = t.responseIntact ? `intact at ${t.responseMs} ms (Connection: ${t.responseConnectionHeader})` : `LOST (${t.responseError ?? `status ${t.responseStatus}`}) at ${t.responseMs} ms`
      console.log(`  ${name.padEnd(13)} close() → ${close.padEnd(18)} response ${resp}; connection closed at ${t.connectionClosedMs ?? '-'} ms`)
    }
    const closeValues = trials.filter((t) => !t.capped).map((t) => t.closeMs)
    results.push({
      name,
      label: def.label,
      lastcall: def.lastcall,
      fastifyOptions: def.fastify,
      closeMs: trials.some((t) => t.capped) ? { atLeast: capMs, capped: true } : { median: median(closeValues), min: Math.min(...closeValues), max: Math.max(...closeValues) },
      responseMs: median(trials.map((t) => t.responseMs ?? Number.NaN)),
      responsesIntact: trials.filter((t) => t.responseIntact).length,
      trials,
    })
  }
  if (!args.long) {
    // Keep an earlier --long measurement of the defaults case rather than drop it.
    const previous = await readPrevious()
    const kept = previous?.cases.find((c) => c.name === 'defaults')
    if (kept) results.push({ ...kept, fromEarlierRun: previous.machine.date })
  }

  const output = {
    benchmark: 'fastify-close',
    description:
      `app.close() while a keep-alive client (http.Agent, keepAlive, no idle timeout) has a ${requestMs} ms request in flight. ` +
      'closeMs: from the close() call to its resolution; responseMs: when the in-flight response ended at the client; ' +
      'responseIntact: 200 with the whole body; connectionClosedMs: when the client saw the connection close. Each trial in a fresh process.',
    machine: info,
    versions: {
      node: process.version,
      fastify: workspaceVersion('fastify', 'fastify'),
      '@lastcall/fastify': workspaceVersion('fastify', '@lastcall/fastify'),
    },
    config: { repeat, requestMs, capMs, long: args.long },
    cases: results,
  }
  mkdirSync(args.out, { recursive: true })
  writeFileSync(`${args.out}/fastify-close.json`, `${JSON.stringify(output, null, 2)}\n`)
  writeFileSync(`${args.out}/fastify-close.svg`, svg(output))
  console.log(`wrote ${args.out}/fastify-close.json and fastify-close.svg`)
}

async function readPrevious() {
  try {
    const { readFile } = await import('node:fs/promises')
    return JSON.parse(await readFile(`${args.out}/fastify-close.json`, 'utf8'))
  } catch {
    return undefined
  }
}

/** One trial in a fresh process; killed by pid if it overruns. */
async function child(name) {
  const argv = [fileURLToPath(import.meta.url), '--case', name, '--request-ms', String(requestMs), '--cap-s', String(capMs / 1000)]
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(proc, 'exit')
  const guard = setTimeout(() => proc.kill('SIGKILL'), capMs + 20_000)
  try {
    for await (const line of createInterface({ input: proc.stdout })) if (line.startsWith('{')) return JSON.parse(line)
    throw new Error(`trial ${name} ended without a result`)
  } finally {
    clearTimeout(guard)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  }
}

function svg(output) {
  const cases = output.cases
  const capS = output.config.capMs / 1000
  const longest = Math.max(...cases.map((c) => (c.closeMs.capped ? c.closeMs.atLeast : c.closeMs.median) / 1000))
  const max = Math.max(10, Math.ceil(longest / 10) * 10)
  const rows = cases.map((c) => {
    const closeS = (c.closeMs.capped ? c.closeMs.atLeast : c.closeMs.median) / 1000
    const intact = c.responsesIntact === c.trials.length
    const respS = Math.min(Math.max(0, c.responseMs / 1000), closeS)
    const segments = intact
      ? [
          { value: respS, color: '#72b7b2', title: `request in flight until ${respS.toFixed(2)} s` },
          { value: closeS - respS, color: '#e45756', title: `close() pending after the response: ${(closeS - respS).toFixed(2)} s` },
        ]
      : [{ value: closeS, color: '#9d9d9d', title: 'close() resolved, response lost' }]
    const closeText = c.closeMs.capped ? `≥ ${capS} s (cap)` : c.closeMs.median < 100 ? `${c.closeMs.median} ms` : `${(c.closeMs.median / 1000).toFixed(2)} s`
    return {
      label: `${c.label}${c.lastcall ? '' : ', no lastcall'}`,
      value: closeS,
      segments,
      text: `${closeText} · response ${intact ? 'intact' : 'LOST'}`,
    }
  })
  const m = output.machine
  return chart({
    title: `Fastify app.close() with a ${output.config.requestMs / 1000} s request in flight on a keep-alive connection`,
    subtitle: `close() → resolved (median of the trials) · Fastify ${output.versions.fastify}, Node ${m.node}, ${m.cpuModel}, ${m.cores} cores`,
    rows,
    min: 0,
    max,
    unit: ' s',
    format: (v) => String(Math.round(v)),
    width: 1010,
    left: 380,
    right: 210,
    legend: [
      { label: 'in-flight request', color: '#72b7b2' },
      { label: 'close() still pending after the response', color: '#e45756' },
      { label: 'response lost', color: '#9d9d9d' },
    ],
  }).svg
}
