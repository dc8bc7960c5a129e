import { parseArgs } from 'node:util'
import type { CheckOptions } from './check.js'

export const USAGE = `Usage: lastcall check [options] -- <command...>

Starts <command> with PORT set to a free port, puts keep-alive load on it,
sends SIGTERM halfway through and reports whether it drained.

Options:
  --connections <n>        keep-alive client connections (default 8)
  --duration <ms>          load time; SIGTERM at half of it (default 4000)
  --path <path>            path of the fast GET and POST requests (default /)
  --slow-path <path>       slow requests added to the mix, e.g. /slow?ms=500
  --ready-path <path>      readiness endpoint (default /readyz; 404 means none)
  --no-readiness           do not fail when readiness is missing or late
  --probe-interval <ms>    readiness probe interval (default 100)
  --request-timeout <ms>   a request unanswered this long is hung (default 5000)
  --startup-timeout <ms>   time the app gets to answer (default 10000)
  --exit-timeout <ms>      time the app gets to exit after SIGTERM (default 15000)
  --http2                  check over cleartext HTTP/2 (h2c): probes and streams
  --ws [--ws-path <path>]  also hold a WebSocket open (default path /)
  --json                   print the result as JSON on stdout
  -h, --help               this help
  -v, --version            the version

Exit code: 0 when the app drained cleanly, 1 when something failed, 2 on a usage error.`

export class UsageError extends Error {}

export type Parsed = { kind: 'help' } | { kind: 'version' } | { kind: 'check'; json: boolean; options: CheckOptions }

const NUMBERS = {
  connections: 'connections',
  duration: 'durationMs',
  'probe-interval': 'probeIntervalMs',
  'request-timeout': 'requestTimeoutMs',
  'startup-timeout': 'startupTimeoutMs',
  'exit-timeout': 'exitTimeoutMs',
} as const

export function parse(argv: readonly string[]): Parsed {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        connections: { type: 'string' },
        duration: { type: 'string' },
        path: { type: 'string' },
        'slow-path': { type: 'string' },
        'ready-path': { type: 'string' },
        'no-readiness': { type: 'boolean' },
        'probe-interval': { type: 'string' },
        'request-timeout': { type: 'string' },
        'startup-timeout': { type: 'string' },
        'exit-timeout': { type: 'string' },
        http2: { type: 'boolean' },
        ws: { type: 'boolean' },
        'ws-path': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) return { kind: 'help' }
  if (values.version) return { kind: 'version' }
  const [sub, ...command] = positionals
  if (sub !== 'check') throw new UsageError(sub === undefined ? 'missing command: lastcall check -- <command...>' : `unknown command "${sub}" (only "check")`)
  if (command.length === 0) throw new UsageError('missing the app to check: lastcall check [options] -- node server.js')
  const options: CheckOptions = { command }
  for (const [flag, key] of Object.entries(NUMBERS)) {
    const raw = values[flag]
    if (raw === undefined) continue
    const n = Number(raw)
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new UsageError(`--${flag} must be a whole number; received "${String(raw)}"`)
    ;(options as unknown as Record<string, number>)[key] = n
  }
  if (typeof values.path === 'string') options.path = values.path
  if (typeof values['slow-path'] === 'string') options.slowPath = values['slow-path']
  if (typeof values['ready-path'] === 'string') options.readyPath = values['ready-path']
  if (values['no-readiness']) options.requireReadiness = false
  if (values.http2) options.http2 = true
  if (typeof values['ws-path'] === 'string') options.ws = values['ws-path']
  else if (values.ws) options.ws = true
  return { kind: 'check', json: values.json === true, options }
}
