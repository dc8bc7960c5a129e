import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

/** A request probes can answer: HTTP/1.1, or HTTP/2 through Node's compatibility API. */
export type ProbeRequest = IncomingMessage | Http2ServerRequest
export type ProbeResponse = ServerResponse | Http2ServerResponse
import { BUILT_IN_CHECKS, Check, failureReason, validateCheck, type CheckKind, type CheckOptions, type CheckResult, type HealthCheck } from './checks.js'
import type { Clock } from '../clock.js'
import { LastcallOptionError } from '../errors.js'
import type { Log } from '../logger.js'
import { assertDuration, assertKnownKeys } from '../validate.js'

/** Options of the health, readiness and startup endpoints. */
export interface ProbeOptions {
  /**
   * Liveness endpoint. `false` turns it off.
   * @default '/healthz'
   */
  healthPath?: string | false
  /**
   * Second liveness endpoint, answering exactly like `healthPath`. `false` turns it off.
   * @default '/livez'
   */
  livePath?: string | false
  /**
   * Readiness endpoint. `false` turns it off.
   * @default '/readyz'
   */
  readyPath?: string | false
  /**
   * Startup endpoint: 503 until the service has become ready once, then 200. `false` turns it off.
   * @default '/startupz'
   */
  startupPath?: string | false
  /**
   * Whether error messages of failing checks appear in probe responses.
   * They always go to the log.
   * @default false
   */
  exposeDetails?: boolean
  /**
   * Timeout of a check added without its own `timeoutMs`.
   * @default 1000
   */
  checkTimeoutMs?: number
  /**
   * How long the result of a check added without its own `cacheMs` is reused.
   * @default 1000
   */
  checkCacheMs?: number
}

export type ProbeState = 'starting' | 'serving' | 'shutting-down'

export interface ProbeDeps {
  /** The controller's lifecycle as probes see it. */
  state: () => ProbeState
  clock: Clock
  log: Log
}

/** The name an endpoint reports itself by in its closing line (`readyz check passed`). */
type EndpointLabel = 'healthz' | 'livez' | 'readyz' | 'startupz'

interface Endpoint {
  path: string
  label: EndpointLabel
  kind: CheckKind
}

/** A probe endpoint a request URL was matched to (`Probes#match`), to answer it without matching again. */
export type ProbeEndpoint = Readonly<Endpoint>

type LineStatus = 'pass' | 'warn' | 'fail' | 'excluded'

/** One check's outcome on one response. */
interface Line {
  name: string
  status: LineStatus
  /** Shown after `failed:`/`warn:`; already withheld unless `exposeDetails`. */
  reason?: string
}

type Format = 'text' | 'health+json' | 'json'

const OPTION_KEYS: ReadonlySet<string> = new Set(['healthPath', 'livePath', 'readyPath', 'startupPath', 'exposeDetails', 'checkTimeoutMs', 'checkCacheMs'])
/** Absolute, no query or fragment, no empty segment, no trailing slash. */
const PATH = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/
const WITHHELD = 'reason withheld'
const QUESTION = 63
const SLASH = 47

/**
 * The probe endpoints. `handle()` answers a probe request and returns true,
 * or returns false for any other request after a string compare or two.
 *
 * Checks of the endpoints (besides the ones users add):
 * - liveness: `ping`, which passes whenever the event loop can answer.
 * - readiness: `started` (fails with `starting` until ready) and `shutdown`
 *   (fails with `shutting down` from the first instant of shutdown).
 * - startup: `started`.
 */
export class Probes {
  readonly #deps: ProbeDeps
  readonly #endpoints: readonly Endpoint[]
  /** 1 at `charCodeAt(1)` of every endpoint path: most requests are turned away on it alone. */
  readonly #secondChars = new Uint8Array(128)
  readonly #exposeDetails: boolean
  readonly #timeoutMs: number
  readonly #cacheMs: number
  readonly #checks = new Map<string, Check>()

  constructor(options: ProbeOptions, deps: ProbeDeps) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new LastcallOptionError('probes', options, 'false or an object of probe options')
    }
    assertKnownKeys('probes', options, OPTION_KEYS)
    if (options.exposeDetails !== undefined && typeof options.exposeDetails !== 'boolean') {
      throw new LastcallOptionError('probes.exposeDetails', options.exposeDetails, 'a boolean')
    }
    if (options.checkTimeoutMs !== undefined) assertDuration('probes.checkTimeoutMs', options.checkTimeoutMs, { allowZero: false })
    if (options.checkCacheMs !== undefined) assertDuration('probes.checkCacheMs', options.checkCacheMs)
    this.#deps = deps
    this.#exposeDetails = options.exposeDetails ?? false
    this.#timeoutMs = options.checkTimeoutMs ?? 1000
    this.#cacheMs = options.checkCacheMs ?? 1000
    this.#endpoints = resolveEndpoints(options)
    for (const e of this.#endpoints) this.#secondChars[e.path.charCodeAt(1) & 127] = 1
  }

  /**
   * Registers a check. Names are letters, digits, `.`, `-` and `_` (they
   * appear in URLs: `/readyz/<name>`), unique across kinds. Returns a
   * function that removes the check.
   */
  addCheck(name: string, fn: HealthCheck, options?: CheckOptions): () => void {
    validateCheck(name, fn, options)
    if (this.#checks.has(name)) throw new LastcallOptionError('addCheck(name)', name, 'a name not already used by another check')
    const check = new Check(
      name,
      fn,
      {
        kind: options?.kind ?? 'readiness',
        timeoutMs: options?.timeoutMs ?? this.#timeoutMs,
        cacheMs: options?.cacheMs ?? this.#cacheMs,
        critical: options?.critical ?? true,
      },
      this.#deps.clock,
      this.#deps.log,
    )
    this.#checks.set(name, check)
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name)
    }
  }

  handle(req: ProbeRequest, res: ProbeResponse): boolean {
    const endpoint = this.#match(req.url)
    if (endpoint === undefined) return false
    this.answer(req, res, endpoint)
    return true
  }

  /** The endpoint a request URL is for, or undefined for any other URL: matched once, then answered with `answer()`. */
  match(url: string | undefined): ProbeEndpoint | undefined {
    return this.#match(url)
  }

  /** Answers a request whose URL `match()` gave `endpoint`. */
  answer(req: ProbeRequest, res: ProbeResponse, endpoint: ProbeEndpoint): void {
    const url = req.url ?? endpoint.path
    this.#answer(req.method, req.headers.accept, endpoint, url.slice(endpoint.path.length)).then(
      (answer) => send(req, res, answer),
      (error: unknown) => {
        this.#deps.log('error', 'probe failed to answer', { err: error, url })
        if (!res.headersSent) send(req, res, INTERNAL_ERROR)
        else res.destroy()
      },
    )
  }

  /**
   * The same endpoints for fetch-style servers (`Bun.serve`, `Deno.serve`):
   * a web `Response` for a probe request, undefined for any other request.
   * `url` is the request's path and query (`/readyz?verbose`).
   */
  respond(request: { readonly method: string; readonly headers: { get(name: string): string | null } }, url: string): Promise<Response> | undefined {
    const endpoint = this.#match(url)
    if (endpoint === undefined) return undefined
    const toResponse = (answer: ProbeAnswer): Response => new Response(request.method === 'HEAD' ? null : answer.body, { status: answer.status, headers: answer.headers })
    return this.#answer(request.method, request.headers.get('accept') ?? undefined, endpoint, url.slice(endpoint.path.length)).then(toResponse, (error: unknown) => {
      this.#deps.log('error', 'probe failed to answer', { err: error, url })
      return toResponse(INTERNAL_ERROR)
    })
  }

  /** Which endpoint a request URL is for, without answering it; undefined for anything else. */
  kindOf(url: string | undefined): CheckKind | undefined {
    return this.#match(url)?.kind
  }

  #match(url: string | undefined): Endpoint | undefined {
    // The cheap part, paid by every request: one char lookup, then at most one startsWith per endpoint.
    // Out-of-bounds reads are ruled out first (the URL "/" has no second character, and codes above
    // 127 are past the table): either would deoptimize this function for good, and under callgrind
    // it then ran unoptimized with a megamorphic keyed load on every request.
    if (url === undefined || url.length < 2) return undefined
    const second = url.charCodeAt(1)
    if (second > 127 || this.#secondChars[second] !== 1) return undefined
    for (const e of this.#endpoints) {
      if (!url.startsWith(e.path)) continue
      const next = url.charCodeAt(e.path.length)
      if (Number.isNaN(next) || next === QUESTION || next === SLASH) return e
    }
    return undefined
  }

  /** Runs the startup checks; resolves true when every critical one passes. */
  async startupPassed(): Promise<boolean> {
    const checks = [...this.#checks.values()].filter((c) => c.kind === 'startup')
    const results = await Promise.all(checks.map((c) => c.run()))
    return results.every((r, i) => r.ok || !checks[i]!.critical)
  }

  async #answer(method: string | undefined, accept: string | undefined, endpoint: Endpoint, rest: string): Promise<ProbeAnswer> {
    if (method !== 'GET' && method !== 'HEAD') return answer(405, 'text', 'method not allowed\n', { Allow: 'GET, HEAD' })
    const q = rest.indexOf('?')
    const sub = q === -1 ? rest : rest.slice(0, q)
    const params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1))
    const verbose = params.has('verbose')
    let single: string | undefined
    if (sub !== '' && sub !== '/') {
      single = sub.slice(1)
      if (!this.#knows(endpoint.kind, single)) return answer(404, 'text', 'no such check\n')
    }
    const lines = await this.#evaluate(endpoint.kind, single, new Set(params.getAll('exclude')))
    const status = overall(lines)
    const format = negotiate(accept)
    const code = status === 'fail' ? 503 : 200
    if (format === 'text') {
      // Like the Kubernetes API server: a failure always lists its checks.
      const body = verbose || status === 'fail' ? renderLines(lines, endpoint.label, status !== 'fail') : 'ok'
      return answer(code, format, body)
    }
    return answer(code, format, JSON.stringify(healthJson(status, lines)))
  }

  #knows(kind: CheckKind, name: string): boolean {
    if (BUILT_IN_CHECKS.has(name)) return builtIns(kind, 'serving').some((l) => l.name === name)
    return this.#checks.get(name)?.kind === kind
  }

  async #evaluate(kind: CheckKind, single: string | undefined, exclude: ReadonlySet<string>): Promise<Line[]> {
    const state = this.#deps.state()
    const lines = builtIns(kind, state)
    if (single !== undefined && BUILT_IN_CHECKS.has(single)) return lines.filter((l) => l.name === single)
    // Startup is over once ready; during shutdown readiness fails anyway, and
    // the resources readiness checks probe may already be closing.
    const skipUser = single === undefined && ((kind === 'readiness' && state === 'shutting-down') || (kind === 'startup' && state !== 'starting'))
    const checks = single !== undefined ? [this.#checks.get(single)!] : skipUser ? [] : [...this.#checks.values()].filter((c) => c.kind === kind)
    const results = await Promise.all(checks.map((c) => (single === undefined && exclude.has(c.name) ? undefined : c.run())))
    const user = checks.map((c, i) => this.#line(c, results[i]))
    return single !== undefined ? user : lines.concat(user)
  }

  #line(check: Check, result: CheckResult | undefined): Line {
    if (result === undefined) return { name: check.name, status: 'excluded' }
    if (result.ok) return { name: check.name, status: 'pass' }
    return { name: check.name, status: check.critical ? 'fail' : 'warn', reason: this.#exposeDetails ? failureReason(result.error) : WITHHELD }
  }
}

function resolveEndpoints(options: ProbeOptions): Endpoint[] {
  const wanted: [keyof ProbeOptions, string, EndpointLabel, CheckKind][] = [
    ['healthPath', '/healthz', 'healthz', 'liveness'],
    ['livePath', '/livez', 'livez', 'liveness'],
    ['readyPath', '/readyz', 'readyz', 'readiness'],
    ['startupPath', '/startupz', 'startupz', 'startup'],
  ]
  const endpoints: Endpoint[] = []
  for (const [key, fallback, label, kind] of wanted) {
    const value = options[key] ?? fallback
    if (value === false) continue
    if (typeof value !== 'string' || !PATH.test(value) || value.length > 256) {
      throw new LastcallOptionError(`probes.${key}`, value, 'false or a URL path such as "/readyz": starting with "/", without a query, spaces or a trailing slash')
    }
    for (const other of endpoints) {
      if (value === other.path || value.startsWith(`${other.path}/`) || other.path.startsWith(`${value}/`)) {
        throw new LastcallOptionError(`probes.${key}`, value, `a path that neither equals nor nests with ${other.label}'s path "${other.path}"`)
      }
    }
    endpoints.push({ path: value, label, kind })
  }
  return endpoints
}

function builtIns(kind: CheckKind, state: ProbeState): Line[] {
  if (kind === 'liveness') return [{ name: 'ping', status: 'pass' }]
  const started: Line = state === 'starting' ? { name: 'started', status: 'fail', reason: 'starting' } : { name: 'started', status: 'pass' }
  if (kind === 'startup') return [started]
  const shutdown: Line = state === 'shutting-down' ? { name: 'shutdown', status: 'fail', reason: 'shutting down' } : { name: 'shutdown', status: 'pass' }
  return [started, shutdown]
}

function overall(lines: readonly Line[]): 'pass' | 'warn' | 'fail' {
  let status: 'pass' | 'warn' = 'pass'
  for (const line of lines) {
    if (line.status === 'fail') return 'fail'
    if (line.status === 'warn') status = 'warn'
  }
  return status
}

function renderLines(lines: readonly Line[], label: EndpointLabel, passed: boolean): string {
  let out = ''
  for (const l of lines) {
    if (l.status === 'pass') out += `[+]${l.name} ok\n`
    else if (l.status === 'excluded') out += `[+]${l.name} excluded: ok\n`
    else if (l.status === 'warn') out += `[!]${l.name} warn: ${l.reason ?? WITHHELD}\n`
    else out += `[-]${l.name} failed: ${l.reason ?? WITHHELD}\n`
  }
  return `${out}${label} check ${passed ? 'passed' : 'failed'}\n`
}

interface HealthCheckEntry {
  status: 'pass' | 'warn' | 'fail'
  output?: string
}

/** The body of the IETF health-check response draft (`application/health+json`). */
interface HealthBody {
  status: 'pass' | 'warn' | 'fail'
  checks: Record<string, HealthCheckEntry[]>
  output?: string
}

function healthJson(status: 'pass' | 'warn' | 'fail', lines: readonly Line[]): HealthBody {
  const checks: Record<string, HealthCheckEntry[]> = {}
  const problems: string[] = []
  for (const l of lines) {
    if (l.status === 'excluded') continue
    if (l.status === 'pass') {
      checks[l.name] = [{ status: 'pass' }]
      continue
    }
    const reason = l.reason ?? WITHHELD
    checks[l.name] = [{ status: l.status, output: reason }]
    problems.push(BUILT_IN_CHECKS.has(l.name) ? reason : `${l.name} ${l.status === 'fail' ? 'failed' : 'warn'}: ${reason}`)
  }
  const body: HealthBody = { status, checks }
  if (problems.length > 0) body.output = problems.join('; ')
  return body
}

/**
 * Picks a format from `Accept`: the supported type with the highest q, the
 * earliest on a tie. Anything else (none, `*\/*`, `text/html`) gets text:
 * a probe should answer, not 406.
 */
function negotiate(accept: string | undefined): Format {
  if (accept === undefined || accept === '' || accept === '*/*') return 'text'
  let best: Format = 'text'
  let bestQ = -1
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';')
    const media = type.trim().toLowerCase()
    const format: Format | undefined =
      media === 'application/health+json' ? 'health+json' : media === 'application/json' ? 'json' : media === 'text/plain' || media === 'text/*' || media === '*/*' ? 'text' : undefined
    if (format === undefined) continue
    let q = 1
    for (const p of params) {
      const [k, v] = p.split('=')
      if (k?.trim().toLowerCase() === 'q' && v !== undefined) q = Number(v.trim())
    }
    if (Number.isFinite(q) && q > 0 && q > bestQ) {
      best = format
      bestQ = q
    }
  }
  return best
}

const CONTENT_TYPES: Record<Format, string> = {
  text: 'text/plain; charset=utf-8',
  'health+json': 'application/health+json',
  json: 'application/json; charset=utf-8',
}

/** A probe's answer before it is written: the same for node:http and fetch-style servers. */
interface ProbeAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

function answer(status: number, format: Format, body: string, extra?: Record<string, string>): ProbeAnswer {
  return { status, body, headers: { ...extra, 'Content-Type': CONTENT_TYPES[format], 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } }
}

const INTERNAL_ERROR = answer(500, 'text', 'internal error\n')

function send(req: ProbeRequest, res: ProbeResponse, answer: ProbeAnswer): void {
  if (res.writableEnded || (res as { destroyed?: boolean }).destroyed === true) return
  res.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) })
  if (req.method === 'HEAD') res.end()
  else res.end(answer.body)
}
