// Keep-alive load on one server, every request classified by what its client saw.
//
// Workers share one keep-alive `http.Agent` (and a quarter of them use `fetch`,
// whose pool is undici's); each sends one request after another: fast GETs,
// POSTs, early-flushed GETs (head at once, end 0-100 ms later) and, from every fourth
// worker, slow GETs (1-3 s). One more client holds an SSE stream open.
// A worker whose request is refused (the listener is closed) counts it and
// stops sending to this server, as a load balancer that noticed would.
import { Agent, request as httpRequest } from 'node:http'

/** Outcomes in display order. Every one but `ok` and `refused` is a failed request. */
export const OUTCOMES = /** @type {const} */ ([
  'ok', 'http503', 'non2xx', 'resetReused', 'resetNew', 'resetUnknown', 'streamCut', 'hung', 'other', 'refused',
])

/** @typedef {typeof OUTCOMES[number]} Outcome */
/** @typedef {'fast' | 'slow' | 'stream' | 'post' | 'sse'} Kind */
/**
 * @typedef {object} RequestRecord
 * @property {Kind} kind
 * @property {'agent' | 'fetch' | 'sse'} client
 * @property {number} start ms since the load started
 * @property {number} end ms since the load started
 * @property {Outcome} outcome
 * @property {number} [status]
 * @property {string} [code]
 */

export const FAILED = new Set(OUTCOMES.filter((o) => o !== 'ok' && o !== 'refused'))

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

class HungError extends Error {
  code = 'HUNG'
}

/** A small seeded PRNG (mulberry32), so a run's request mix is repeatable. */
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
 * @param {unknown} error
 * @param {boolean | undefined} reused whether the request went out on a reused connection; undefined when not known (fetch)
 * @returns {{ outcome: Outcome, code: string }}
 */
export function classifyError(error, reused) {
  const e = /** @type {{ code?: string, name?: string, cause?: { code?: string, name?: string } }} */ (error ?? {})
  const code = e.code ?? e.cause?.code ?? e.name ?? 'unknown'
  if (error instanceof HungError || e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') return { outcome: 'hung', code: 'HUNG' }
  if (code === 'ECONNREFUSED') return { outcome: 'refused', code }
  if (RESET_CODES.has(code)) return { outcome: reused === undefined ? 'resetUnknown' : reused ? 'resetReused' : 'resetNew', code }
  return { outcome: 'other', code }
}

/** @param {number} status @returns {Outcome} */
function statusOutcome(status) {
  if (status >= 200 && status < 300) return 'ok'
  return status === 503 ? 'http503' : 'non2xx'
}

/**
 * @param {object} options
 * @param {number} options.port
 * @param {number} options.connections workers, and the agent's maxSockets
 * @param {number} [options.seed]
 * @param {number} [options.fetchShare] share of workers that use fetch
 * @param {number} [options.requestTimeoutMs] a request unanswered this long is `hung`
 */
export function createLoad({ port, connections, seed = 1, fetchShare = 0.25, requestTimeoutMs = 8000 }) {
  const origin = `http://127.0.0.1:${port}`
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const t0 = performance.now()
  const now = () => performance.now() - t0
  /** @type {RequestRecord[]} */
  const records = []
  /** @type {Record<Outcome, number>} */
  const tally = /** @type {Record<Outcome, number>} */ (Object.fromEntries(OUTCOMES.map((o) => [o, 0])))
  /** Ways to cut every request still open, for the end of the run. */
  const open = new Set()
  let running = true
  let inFlight = 0
  let sent = 0

  /** @param {RequestRecord} record */
  const settle = (record) => {
    records.push(record)
    tally[record.outcome]++
    inFlight--
  }

  /** @param {Kind} kind @param {() => number} rnd */
  const plan = (kind, rnd) => {
    if (kind === 'slow') return { method: 'GET', path: `/slow?ms=${1000 + Math.floor(rnd() * 2000)}`, body: undefined }
    if (kind === 'stream') return { method: 'GET', path: `/stream?ms=${Math.floor(rnd() * 100)}`, body: undefined }
    if (kind === 'post') return { method: 'POST', path: '/orders', body: JSON.stringify({ item: 'demo', qty: Math.ceil(rnd() * 9), note: 'x'.repeat(512) }) }
    return { method: 'GET', path: '/fast', body: undefined }
  }

  /** @param {Kind} kind @param {() => number} rnd @returns {Promise<RequestRecord>} */
  const viaAgent = (kind, rnd) => new Promise((resolve) => {
    const { method, path, body } = plan(kind, rnd)
    const start = now()
    let done = false
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
    const req = httpRequest({ agent, host: '127.0.0.1', port, method, path, headers })
    /** @param {Omit<RequestRecord, 'kind' | 'client' | 'start' | 'end'>} r */
    const finish = (r) => {
      if (done) return
      done = true
      clearTimeout(timer)
      open.delete(cut)
      resolve({ kind, client: 'agent', start, end: now(), ...r })
    }
    const cut = () => req.destroy(new HungError('no answer'))
    const timer = setTimeout(cut, requestTimeoutMs)
    open.add(cut)
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      res.resume()
      res.on('end', () => finish({ outcome: statusOutcome(status), status }))
      res.on('close', () => {
        if (!res.complete) finish({ ...classifyError(res.errored ?? Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), req.reusedSocket), status })
      })
    })
    req.on('error', (error) => finish(classifyError(error, req.reusedSocket)))
    req.end(body)
  })

  /** @param {Kind} kind @param {() => number} rnd @returns {Promise<RequestRecord>} */
  const viaFetch = async (kind, rnd) => {
    const { method, path, body } = plan(kind, rnd)
    const start = now()
    const controller = new AbortController()
    const cut = () => controller.abort(new HungError('no answer'))
    const timer = setTimeout(cut, requestTimeoutMs)
    open.add(cut)
    try {
      const init = body === undefined ? { method, signal: controller.signal } : { method, body, headers: { 'Content-Type': 'application/json' }, signal: controller.signal }
      const res = await fetch(origin + path, init)
      await res.arrayBuffer()
      return { kind, client: 'fetch', start, end: now(), outcome: statusOutcome(res.status), status: res.status }
    } catch (error) {
      const reason = controller.signal.aborted ? controller.signal.reason : error
      return { kind, client: 'fetch', start, end: now(), ...classifyError(reason, undefined) }
    } finally {
      clearTimeout(timer)
      open.delete(cut)
    }
  }

  /** @param {number} index */
  const worker = async (index) => {
    const rnd = random(seed * 1000 + index)
    const useFetch = index < Math.round(connections * fetchShare)
    // Every fourth worker also sends slow requests; the others stay busy with
    // fast ones, so most traffic is short requests on reused connections.
    const slowShare = index % 4 === 3 ? 0.3 : 0
    while (running) {
      const p = rnd()
      /** @type {Kind} */
      const kind = p < slowShare ? 'slow' : p < slowShare + 0.1 ? 'stream' : p < slowShare + 0.25 ? 'post' : 'fast'
      inFlight++
      sent++
      const record = await (useFetch ? viaFetch(kind, rnd) : viaAgent(kind, rnd))
      settle(record)
      if (record.outcome === 'refused') return
    }
  }

  /** One SSE client: ok when the stream ends with the server's final `shutdown` event. */
  const sse = () => new Promise((resolve) => {
    const start = now()
    let text = ''
    let done = false
    inFlight++
    sent++
    const req = httpRequest({ host: '127.0.0.1', port, path: '/events', agent: false, headers: { Accept: 'text/event-stream' } })
    /** @param {Omit<RequestRecord, 'kind' | 'client' | 'start' | 'end'>} r */
    const finish = (r) => {
      if (done) return
      done = true
      open.delete(cut)
      settle({ kind: 'sse', client: 'sse', start, end: now(), ...r })
      resolve(undefined)
    }
    const cut = () => req.destroy(new HungError('stream still open'))
    open.add(cut)
    req.on('response', (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => {
        const final = /^event: shutdown$/m.test(text) && /^retry: \d+$/m.test(text)
        finish(final ? { outcome: 'ok', status: res.statusCode ?? 0, code: 'FINAL_EVENT' } : { outcome: 'streamCut', status: res.statusCode ?? 0, code: 'NO_FINAL_EVENT' })
      })
      res.on('close', () => {
        if (!res.complete) finish({ outcome: 'streamCut', code: /** @type {{ code?: string } | null} */ (res.errored)?.code ?? 'ECONNRESET' })
      })
    })
    req.on('error', (error) => {
      const c = classifyError(error, false)
      finish(c.outcome === 'hung' || c.outcome === 'refused' ? c : { outcome: 'streamCut', code: c.code })
    })
    req.end()
  })

  /** @type {Promise<unknown>[]} */
  let tasks = []
  return {
    records,
    tally,
    get inFlight() { return inFlight },
    get sent() { return sent },
    now,
    start() {
      tasks = [sse(), ...Array.from({ length: connections }, (_, i) => worker(i))]
    },
    /**
     * Stops sending, waits up to `graceMs` for requests still open, then cuts
     * them (they count as hung) and closes the agent's sockets.
     * @param {number} graceMs
     */
    async stop(graceMs) {
      running = false
      /** @type {NodeJS.Timeout | undefined} */
      let timer
      const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))
      await Promise.race([Promise.all(tasks), grace])
      clearTimeout(timer)
      for (const cut of [...open]) cut()
      await Promise.all(tasks)
      agent.destroy()
    },
  }
}
