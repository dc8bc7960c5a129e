import { parseArgs } from 'node:util'
import type { CheckOptions } from './check.js'
import type { ConfigCheckOptions } from './config/checkConfig.js'

export const USAGE = `Usage: lastcall check [options] -- <command...>
       lastcall check --config <file|dir> [--config …] [--app-options <json>] [--env-option NAME=option …] [--json]

Starts <command> with PORT set to a free port, puts keep-alive load on it,
sends SIGTERM halfway through and reports whether it drained.

With --config it starts nothing: it reads deployment files (Kubernetes
manifests, compose.yaml, Dockerfile, systemd .service, PM2 ecosystem files)
and reports every stop timing or signal that cannot work with lastcall.
  --config <path>          a file, or a directory searched for them (repeatable)
  --app-options <json>     options the app passes to createShutdown(), e.g. '{"timeoutMs":20000}'
  --env-option NAME=opt    the app reads option opt from the variable NAME (repeatable)

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

Exit code: 0 when the app drained cleanly (--config: no errors; warnings allowed),\n1 when something failed, 2 on a usage error.`

export class UsageError extends Error {}

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'check'; json: boolean; options: CheckOptions }
  | { kind: 'config'; json: boolean; options: ConfigCheckOptions }

const NUMBERS = {
  connections: 'connections',
  duration: 'durationMs',
  'probe-interval': 'probeIntervalMs',
  'request-timeout': 'requestTimeoutMs',
  'startup-timeout': 'startupTimeoutMs',
  'exit-timeout': 'exitTimeoutMs',
} as const

export function parse(argv: readonly string[]): Parsed {
  let values: Record<string, string | boolean | string[] | undefined>
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
        config: { type: 'string', multiple: true },
        'app-options': { type: 'string' },
        'env-option': { type: 'string', multiple: true },
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
  const configPaths = values.config as string[] | undefined
  if (configPaths !== undefined) {
    if (command.length > 0) throw new UsageError('--config checks files and starts nothing: leave out the command after --')
    return { kind: 'config', json: values.json === true, options: configOptions(configPaths, values['app-options'] as string | undefined, (values['env-option'] as string[] | undefined) ?? []) }
  }
  if (values['app-options'] !== undefined || values['env-option'] !== undefined) throw new UsageError('--app-options and --env-option go with --config')
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

function configOptions(paths: string[], appOptions: string | undefined, envOptions: string[]): ConfigCheckOptions {
  const options: ConfigCheckOptions = { paths }
  if (appOptions !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(appOptions)
    } catch (error) {
      throw new UsageError(`--app-options must be a JSON object; ${(error as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--app-options must be a JSON object; received ${appOptions}`)
    options.options = parsed
  }
  if (envOptions.length > 0) {
    const map: Record<string, string> = {}
    for (const entry of envOptions) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z]+)$/.exec(entry)
      if (!m) throw new UsageError(`--env-option takes NAME=option, e.g. SHUTDOWN_TIMEOUT_MS=timeoutMs; received "${entry}"`)
      map[m[1]!] = m[2]!
    }
    options.envOptions = map
  }
  return options
}
