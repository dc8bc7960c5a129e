// The load: keep-alive workers through HAProxy, every request classified and
// timestamped. Closed loop with a short pause between requests, so the load is
// bounded and the machine is not saturated (HAProxy's checks stay honest).
import { Agent, request } from 'node:http'

/**
 * @typedef {object} RequestRecord
 * @property {number} start ms since the scenario started
 * @property {number} end
 * @property {'fast' | 'slow' | 'post'} kind
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
 */
export function startLoad({ port, connections, pauseMs, now, seed = 1, requestTimeoutMs = 15_000 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  /** @type {RequestRecord[]} */
  const records = []
  let running = true
  /** @type {Set<() => void>} */
  const open = new Set()

  /** @param {'fast' | 'slow' | 'post'} kind @param {() => number} rnd @returns {Promise<RequestRecord>} */
  const send = (kind, rnd) => new Promise((resolve) => {
    const start = now()
    const body = kind === 'post' ? JSON.stringify({ item: 'bench', note: 'x'.repeat(256) }) : undefined
    const path = kind === 'slow' ? `/slow?ms=${500 + Math.floor(rnd() * 1500)}` : kind === 'post' ? '/orders' : '/fast'
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
    while (running) {
      const p = rnd()
      const record = await send(p < 0.05 ? 'slow' : p < 0.2 ? 'post' : 'fast', rnd)
      records.push(record)
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }
  const tasks = Array.from({ length: connections }, (_, i) => worker(i))

  return {
    records,
    /** Stops sending; requests still open after `graceMs` count as hung. @param {number} graceMs */
    async stop(graceMs) {
      running = false
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
