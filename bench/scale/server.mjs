// The server measured by the shutdown-latency benchmark: node:http with
// lastcall (`readinessDelayMs: 0`, everything else default except a long
// keep-alive timeout so idle clients stay connected while thousands are
// opened). Started by run.mjs as its own process; stopped by SIGTERM (the
// measurement) or by pid.
//
// Routes: `GET /` → 200 "ok"; `GET /slow?ms=N` → 200 after N ms.
//
// `node server.mjs floor` is the reference instead: no lastcall; on SIGTERM
// it calls `server.close()` (which on Node ≥ 19 also closes every idle
// connection at once, no linger), answers in-flight requests with
// `Connection: close`, and exits as soon as the last connection is gone. It
// is what the machine can do at best, measured the same way, side by side.
//
// Prints JSON lines on stdout, times as process.hrtime.bigint() strings
// (CLOCK_MONOTONIC, the same clock in every process on the machine):
//   {"port", "nofile"}                      once listening
//   {"slow": n}                             when the n-th slow request arrives
//   {"event": "closed", ...}                the shutdown report and the instants it measured
//   {"event": "exit", "t"}                  from process.on('exit'), written synchronously
import { writeSync } from 'node:fs'
import http from 'node:http'
import { createShutdown } from '@lastcall/core'
import { openFilesLimit } from './limits.mjs'

const now = () => process.hrtime.bigint()
const line = (value) => writeSync(1, `${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`)

const floor = process.argv[2] === 'floor'
const shutdown = floor ? undefined : createShutdown({ readinessDelayMs: 0, logger: false, keepAliveTimeoutMs: 300_000 })
const shuttingDown = () => (floor ? t.signal !== 0n : shutdown.isShuttingDown)

/** Sockets that carried a slow request: their close is not an idle close. */
const busy = new WeakSet()
const t = { signal: 0n, leaving: 0n, draining: 0n, closing: 0n, closed: 0n, lastResponse: 0n, lastIdleClose: 0n, lastBusyClose: 0n }
let slow = 0
let idleClosed = 0
let busyClosed = 0

const handler = (req, res) => {
  if (req.url.startsWith('/slow')) {
    const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 500)
    busy.add(req.socket)
    line({ slow: ++slow })
    res.once('finish', () => {
      t.lastResponse = now()
    })
    setTimeout(() => {
      if (floor && shuttingDown()) res.setHeader('Connection', 'close')
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' })
      res.end('ok')
    }, ms)
    return
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' })
  res.end('ok')
}
const server = http.createServer(floor ? handler : shutdown.handler(handler))
if (floor) {
  server.keepAliveTimeout = 300_000
  server.headersTimeout = 301_000
} else {
  shutdown.attach(server)
}

// The floor's exit condition: the server closed and every connection's
// 'close' event seen (the server's own 'close' comes earlier, before the
// sockets' handles have finished closing).
const open = new Set()
let serverClosed = false
function maybeExitFloor() {
  if (!floor || !serverClosed || open.size > 0) return
  t.closed = now()
  line({ event: 'closed', idleLingerMs: 0, t, idleClosed, busyClosed })
  process.exit(0)
}

// The benchmark's own bookkeeping: when each connection closes, by kind.
server.on('connection', (socket) => {
  if (floor) open.add(socket)
  socket.once('close', () => {
    open.delete(socket)
    if (!shuttingDown()) return
    if (busy.has(socket)) {
      busyClosed++
      t.lastBusyClose = now()
    } else {
      idleClosed++
      t.lastIdleClose = now()
    }
    maybeExitFloor()
  })
})

process.on('SIGTERM', () => {
  t.signal = now()
  if (!floor) return
  t.draining = t.signal
  server.close(() => {
    serverClosed = true
    maybeExitFloor()
  })
})
shutdown?.on('state', (state) => {
  if (state in t) t[state] = now()
})
shutdown?.on('closed', (report) => {
  line({
    event: 'closed',
    idleLingerMs: shutdown.options.idleLingerMs,
    t,
    idleClosed,
    busyClosed,
    report: { durationMs: report.durationMs, timeline: report.timeline, requests: report.requests, connections: report.connections, exitCode: report.exitCode },
  })
})
process.on('exit', (code) => {
  line({ event: 'exit', t: now(), code })
})

server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  line({ port: server.address().port, nofile: openFilesLimit() })
})
