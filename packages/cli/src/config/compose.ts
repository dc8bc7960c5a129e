import { dirname, join } from 'node:path'
import { composeDuration } from './durations.js'
import type { FindingList, StopTiming } from './findings.js'
import { splitWords, type StartCommand } from './startCommand.js'
import { checkWorkload } from './timing.js'
import type { AppSettings } from './budget.js'

type Obj = Record<string, any>

/** Docker's defaults for `docker stop` and Compose: 10 s, then SIGKILL; SIGTERM first. */
const DOCKER_DEFAULT_GRACE_MS = 10_000

/** Whether a parsed YAML document is a Compose file. */
export function isComposeFile(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && typeof (doc as Obj).services === 'object' && (doc as Obj).services !== null && !('apps' in (doc as Obj))
}

/** Compose's `environment`, as a map or a list of `NAME=value`. */
function environment(value: unknown): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  if (Array.isArray(value)) {
    for (const entry of value) {
      const [name, ...rest] = String(entry).split('=')
      if (rest.length > 0) env[name!] = rest.join('=')
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, v] of Object.entries(value)) if (v !== null && v !== undefined) env[name] = String(v)
  }
  return env
}

/** Compose's `command`/`entrypoint`: a list, or a string split into words (no shell). */
function words(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'string') return splitWords(value)
  return undefined
}

/** Checks each service: `stop_grace_period`, `stop_signal`, `init`, its environment and command. */
export function checkCompose(doc: Obj, file: string, app: AppSettings, findings: FindingList): StopTiming[] {
  const timings: StopTiming[] = []
  for (const [name, service] of Object.entries((doc.services ?? {}) as Record<string, Obj>)) {
    if (typeof service !== 'object' || service === null) continue
    const where = `service ${name}`
    let graceMs = DOCKER_DEFAULT_GRACE_MS
    let graceFrom = 'stop_grace_period (default 10s)'
    if (service.stop_grace_period !== undefined) {
      const parsed = composeDuration(service.stop_grace_period)
      if (parsed === undefined) findings.error(where, 'invalid-value', `stop_grace_period ${JSON.stringify(service.stop_grace_period)} is not a duration.`, 'Write it like 30s or 1m30s.')
      else {
        graceMs = parsed
        graceFrom = `stop_grace_period: ${service.stop_grace_period}`
      }
    }
    const entrypoint = words(service.entrypoint)
    const cmd = words(service.command)
    const command: StartCommand | undefined = entrypoint ? { argv: [...entrypoint, ...(cmd ?? [])] } : cmd ? { argv: cmd } : undefined
    const build = typeof service.build === 'string' ? service.build : service.build?.context
    const result = checkWorkload(
      {
        kind: 'compose',
        where,
        gracePeriodMs: graceMs,
        gracePeriodFrom: graceFrom,
        graceSetting: 'stop_grace_period',
        graceValue: (ms) => `${Math.ceil(ms / 1000)}s`,
        beforeSignalMs: 0,
        stopSignal: typeof service.stop_signal === 'string' ? normalizeSignal(service.stop_signal) : 'SIGTERM',
        // lastcall recognises a container from its cgroup and mounts; `container` stands in for them here.
        env: { container: 'docker', ...environment(service.environment) },
        command,
        signalsMainOnly: true,
        scriptDirs: typeof build === 'string' ? [join(dirname(file), build), dirname(file)] : [dirname(file)],
      },
      app,
      findings,
    )
    if (!result) continue
    if (service.init !== true) {
      findings.warn(where, 'no-init', 'No `init: true`: the app runs as PID 1, where the kernel drops every signal it has no handler for and nothing reaps zombie processes.', 'Add `init: true` (tini forwards the stop signal to node and reaps zombies).')
    }
    timings.push(result.timing)
  }
  return timings
}

/** `TERM`, `15` and `SIGTERM` all name SIGTERM. */
export function normalizeSignal(value: string): string {
  const v = value.trim().toUpperCase()
  const numbers: Record<string, string> = { '1': 'SIGHUP', '2': 'SIGINT', '3': 'SIGQUIT', '9': 'SIGKILL', '10': 'SIGUSR1', '12': 'SIGUSR2', '15': 'SIGTERM' }
  if (numbers[v]) return numbers[v]
  return v.startsWith('SIG') ? v : `SIG${v}`
}
