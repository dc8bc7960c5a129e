// The load: keep-alive workers through HAProxy, every request classified and
// timestamped. Closed loop with a short pause between requests, so the load is
// bounded and the machine is not saturated (HAProxy's checks stay honest).
// Sparse mode: each client sends one request every 2-3 s (issue 10's case of
// a service that sees a request every second or so).
import { setMaxListeners } from 'node:events'
import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * @typedef {object} RequestRecord
 * @property {number} start ms since the scenario started
 * @property {number} end
 * @property {'fast' | 'slow' | 'stream' | 'post'} kind
 * @property {string} outcome 'ok', 'status <code>', or 'error <code> (reused|new connection)', or 'hung'
 */

/** @param {number} seed */
function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * @param {object} o
 * @param {number} o.port HAProxy's frontend
 * @param {number} o.connections
 * @param {number} o.pauseMs pause between a worker's requests
 * @param {() => number} o.now
 * @param {number} [o.seed]
 * @param {number} [o.requestTimeoutMs]
 * @param {'busy' | 'sparse'} [o.mode] busy: `pauseMs` between a client's requests; sparse: 2000-3000 ms
 */
export function startLoad({ port, connections, pauseMs, now, seed = 1, requestTimeoutMs = 15_000, mode = 'busy' }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  /** @type {RequestRecord[]} */
  const records = []
  let running = true
  // Cuts the pauses short when the load stops.
  const stopped = new AbortController()
  // One pause per client listens to it at a time.
  setMaxListeners(connections + 1, stopped.signal)
  /** @param {number} ms */
  const pause = (ms) => sleep(ms, undefined, { signal: stopped.signal }).catch(() => {})
  /** @type {Set<() => void>} */
  const open = new Set()

  /** @param {'fast' | 'slow' | 'stream' | 'post'} kind @param {() => number} rnd @returns {Promise<RequestRecord>} */
  const send = (kind, rnd) => new Promise((resolve) => {
    const start = now()
    const body = kind === 'post' ? JSON.stringify({ item: 'bench', note: 'x'.repeat(256) }) : undefined
    const path = kind === 'slow' ? `/slow?ms=${500 + Math.floor(rnd() * 1500)}` : kind === 'stream' ? `/stream?ms=${Math.floor(rnd() * 100)}` : kind === 'post' ? '/orders' : '/fast'
    const req = request({
      agent, host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET',
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {},
    })
    let done = false
    /** @param {string} outcome */
    const finish = (outcome) => {
      if (done) return
      done = true
      clearTimeout(timer)
      open.delete(cut)
      resolve({ start, end: now(), kind, outcome })
    }
    const cut = () => {
      finish('hung')
      req.destroy()
    }
    const timer = setTimeout(cut, requestTimeoutMs)
    open.add(cut)
    req.on('response', (res) => {
      res.resume()
      const status = res.statusCode ?? 0
      res.on('end', () => finish(status >= 200 && status < 300 ? 'ok' : `status ${status}`))
      res.on('close', () => {
        if (!res.complete) finish(`error truncated body (${req.reusedSocket ? 'reused' : 'new'} connection)`)
      })
    })
    req.on('error', (error) => {
      const code = /** @type {{ code?: string }} */ (error).code ?? error.message
      finish(`error ${code} (${req.reusedSocket ? 'reused' : 'new'} connection)`)
    })
    req.end(body)
  })

  /** @param {number} index */
  const worker = async (index) => {
    const rnd = random(seed * 7919 + index)
    // Sparse clients start spread over one interval, not all at once.
    if (mode === 'sparse') await pause(rnd() * 2500)
    while (running) {
      const p = rnd()
      const record = await send(p < 0.05 ? 'slow' : p < 0.15 ? 'stream' : p < 0.25 ? 'post' : 'fast', rnd)
      records.push(record)
      const wait = mode === 'sparse' ? 2000 + rnd() * 1000 : pauseMs
      if (running && wait > 0) await pause(wait)
    }
  }
  const tasks = Array.from({ length: connections }, (_, i) => worker(i))

  return {
    records,
    /** Stops sending; requests still open after `graceMs` count as hung. @param {number} graceMs */
    async stop(graceMs) {
      running = false
      stopped.abort()
      /** @type {NodeJS.Timeout | undefined} */
      let timer
      await Promise.race([Promise.all(tasks), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
      for (const cut of [...open]) cut()
      await Promise.all(tasks)
      agent.destroy()
    },
  }
}
