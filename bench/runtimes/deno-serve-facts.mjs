#!/usr/bin/env node
// What Deno.serve does during a shutdown, measured from Node with raw
// sockets (so a FIN, a reset and a response are told apart): server.shutdown()
// with a request in flight, idle keep-alive connections, a client that never
// sent a request, `Connection: close` in a Response, the `signal` option as
// the force. docs/runtimes.md ("Deno.serve") has the results.
//
//   node bench/runtimes/deno-serve-facts.mjs [--race-rounds 20]
//
// Installs the pinned Deno with scripts/runtime.sh on first use. Every server
// is killed after 15 s.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const { values: opts } = parseArgs({ options: { 'race-rounds': { type: 'string', default: '20' } } })
const deno = execFileSync(join(here, '..', '..', 'scripts', 'runtime.sh'), ['deno'], { encoding: 'utf8' }).trim()
const version = execFileSync(deno, ['--version'], { encoding: 'utf8' }).split('\n')[0]

/** Starts the probe server; `events` fills with its JSON lines; `next(match)` waits for one. */
async function start() {
  const child = spawn(deno, ['run', '-A', join(here, 'deno-serve-probe.js')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  let stderr = ''
  child.stdin.on('error', () => {})
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  let exit
  const exited = once(child, 'exit').then(([code, signal]) => (clearTimeout(killer), (exit = code ?? signal)))
  const events = []
  const waiters = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line)
    events.push(event)
    for (const w of [...waiters]) {
      if (!w.match(event)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(event)
    }
  })
  const next = (match) => {
    const seen = events.find(match)
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }))
  }
  const port = (await next((e) => e.event === 'listening')).port
  return {
    port, events, next, exited,
    command: (c) => child.stdin.write(`${c}\n`),
    /** How the process ended if it did by itself: its exit code and the uncaught error it printed. */
    crash: () => (exit === undefined ? undefined : { code: exit, error: stderr.split('\n').find((l) => l.startsWith('error:')) }),
    stop: async () => (child.kill('SIGKILL'), await exited),
  }
}

/** One client socket that records what happens to it: responses, a FIN, a reset, with times. */
async function raw(port) {
  const socket = connect(port, '127.0.0.1')
  const t0 = performance.now()
  const log = { fin: undefined, error: undefined, closed: undefined }
  let buffer = Buffer.alloc(0)
  let waiting
  const parse = () => {
    const head = buffer.indexOf('\r\n\r\n')
    if (head === -1 || !waiting) return
    const lines = buffer.subarray(0, head).toString('latin1').split('\r\n')
    const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const length = Number(headers['content-length'] ?? 0)
    if (buffer.length < head + 4 + length) return
    const body = buffer.subarray(head + 4, head + 4 + length).toString()
    buffer = buffer.subarray(head + 4 + length)
    const w = waiting
    waiting = undefined
    w.resolve({ status: Number(lines[0].split(' ')[1]), headers, body })
  }
  socket.on('data', (d) => ((buffer = Buffer.concat([buffer, d])), parse()))
  socket.on('end', () => {
    log.fin = Math.round(performance.now() - t0)
    waiting?.resolve({ failed: 'fin before a response' })
    waiting = undefined
  })
  socket.on('error', (e) => {
    log.error = e.code
    waiting?.resolve({ failed: e.code })
    waiting = undefined
  })
  socket.on('close', () => {
    log.closed = performance.now()
    waiting?.resolve({ failed: 'closed before a response' })
    waiting = undefined
  })
  await once(socket, 'connect')
  return {
    socket, log,
    /** Sends a GET; resolves with the response or `{ failed }`. */
    get(path) {
      return new Promise((resolve) => {
        waiting = { resolve }
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, (error) => error && resolve({ failed: error.code }))
      })
    },
    closed: () => (socket.closed ? Promise.resolve() : once(socket, 'close')),
  }
}

const tryConnect = (port) => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1')
  s.on('connect', () => (s.destroy(), resolve('accepted')))
  s.on('error', (e) => resolve(e.code))
})
const since = (t) => Math.round(performance.now() - t)
const facts = {}

// 1. server.shutdown() with a request in flight, an idle keep-alive connection and a silent client.
{
  const s = await start()
  const busy = await raw(s.port)
  const idle = await raw(s.port)
  const silent = await raw(s.port)
  const warm = await idle.get('/ok')
  const held = busy.get('/hold')
  await s.next((e) => e.event === 'request' && e.path === '/hold')
  const t = performance.now()
  s.command('shutdown')
  await s.next((e) => e.command === 'shutdown')
  await idle.closed()
  facts.idleClosedAfterShutdownMs = since(t)
  facts.idle = { warm: warm.status, ...idle.log, closed: undefined }
  facts.newConnectionDuringShutdown = await tryConnect(s.port)
  // The silent client: closed by shutdown() too, or left open?
  const silentAfterIdle = silent.log.closed === undefined ? 'still open when the idle one closed' : 'closed'
  s.command('release')
  const reply = await held
  facts.inFlight = { status: reply.status, connection: reply.headers?.connection ?? '(none)', body: reply.body }
  await busy.closed()
  facts.busyClosedAfterResponse = { fin: busy.log.fin !== undefined, error: busy.log.error }
  const silentWait = silent.closed().then(() => since(t))
  const finished = await Promise.race([s.next((e) => e.event === 'finished').then(() => since(t)), new Promise((r) => setTimeout(() => r('not within 12 s'), 12_000))])
  facts.silent = { whenIdleClosed: silentAfterIdle, closedMs: await Promise.race([silentWait, Promise.resolve('open')]), ...silent.log, closed: undefined }
  facts.finishedAfterShutdownMs = finished
  facts.shutdownResolved = s.events.some((e) => e.event === 'shutdown-resolved')
  facts.requestSignalAborted = s.events.filter((e) => e.event === 'request-aborted').map((e) => e.path)
  await s.stop()
}

// 2. A client that never sent a request, alone: does shutdown() wait for it?
{
  const s = await start()
  const silent = await raw(s.port)
  const t = performance.now()
  s.command('shutdown')
  const finished = await Promise.race([s.next((e) => e.event === 'finished').then(() => since(t)), new Promise((r) => setTimeout(() => r('not within 12 s'), 12_000))])
  facts.silentAlone = { finishedMs: finished, ...silent.log, closed: silent.log.closed === undefined ? 'open' : 'closed' }
  await s.stop()
}

// 3. `Connection: close` in a Response while serving.
{
  const s = await start()
  const c = await raw(s.port)
  const reply = await c.get('/close')
  await Promise.race([c.closed(), new Promise((r) => setTimeout(r, 2000))])
  facts.connectionClose = { status: reply.status, sent: reply.headers?.connection ?? '(none)', fin: c.log.fin !== undefined, closed: c.socket.closed }
  await s.stop()
}

// 4. The `signal` option aborted with a request in flight (the force at a deadline), after shutdown().
for (const afterShutdown of [false, true]) {
  const s = await start()
  const busy = await raw(s.port)
  const idle = await raw(s.port)
  await idle.get('/ok')
  const held = busy.get('/hold')
  await s.next((e) => e.event === 'request' && e.path === '/hold')
  if (afterShutdown) {
    s.command('shutdown')
    await idle.closed()
  }
  const t = performance.now()
  s.command('abort')
  const reply = await held
  const finished = await Promise.race([s.next((e) => e.event === 'finished').then(() => since(t)), new Promise((r) => setTimeout(() => r('not within 5 s'), 5000))])
  const aborted = await Promise.race([s.next((e) => e.event === 'request-aborted').then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))])
  const completed = s.events.find((e) => e.event?.startsWith('completed') && e.path === '/hold')
  facts[afterShutdown ? 'abortAfterShutdown' : 'abortWhileServing'] = { inFlight: reply.failed ?? `${reply.status}`, error: busy.log.error, fin: busy.log.fin !== undefined, finishedMs: finished, requestSignalAborted: aborted, completed: completed?.event, newConnection: await tryConnect(s.port), processEnded: s.crash() ?? 'no' }
  // A handler answering after the abort: what happens to its response?
  s.command('release')
  await s.stop()
}

// 5. The keep-alive race: a request written on an idle connection just as shutdown() is called.
{
  const outcomes = {}
  for (let r = 0; r < Number(opts['race-rounds']); r++) {
    const s = await start()
    const c = await raw(s.port)
    await c.get('/ok')
    s.command('shutdown')
    await s.next((e) => e.command === 'shutdown')
    const reply = await c.get('/ok')
    const key = reply.failed ?? `${reply.status} connection: ${reply.headers.connection ?? '(none)'}`
    outcomes[key] = (outcomes[key] ?? 0) + 1
    await s.stop()
  }
  facts.requestOnIdleRightAfterShutdown = outcomes
}

console.log(JSON.stringify({ deno: version, node: process.version, ...facts }, null, 2))
