import { dirname, resolve } from 'node:path'
import type { FindingList, StopTiming } from './findings.js'
import { splitWords } from './startCommand.js'
import { checkWorkload } from './timing.js'
import type { AppSettings } from './budget.js'

type Obj = Record<string, any>

/** PM2's default `kill_timeout`. */
const PM2_DEFAULT_KILL_TIMEOUT_MS = 1600

/** The apps of a PM2 ecosystem file: `{ apps: [...] }`, an array, or one app. */
export function pm2Apps(config: unknown): Obj[] | undefined {
  if (Array.isArray(config)) return config.every((a) => typeof a === 'object' && a !== null && 'script' in a) ? (config as Obj[]) : undefined
  if (typeof config !== 'object' || config === null) return undefined
  const c = config as Obj
  if (Array.isArray(c.apps)) return c.apps as Obj[]
  if (typeof c.apps === 'object' && c.apps !== null) return [c.apps as Obj]
  if (typeof c.script === 'string') return [c]
  return undefined
}

/**
 * Checks each app: `kill_timeout` against lastcall's shutdown, `wait_ready`
 * and `listen_timeout`, what `script` runs. PM2 stops and reloads with SIGINT
 * (then SIGKILL after `kill_timeout`), or the `'shutdown'` message with
 * `shutdown_with_message`; lastcall handles both.
 */
export function checkPm2(apps: readonly Obj[], file: string, app: AppSettings, findings: FindingList): StopTiming[] {
  const timings: StopTiming[] = []
  for (const a of apps) {
    const where = `app ${a.name ?? a.script ?? '?'}`
    const killTimeout = typeof a.kill_timeout === 'number' ? a.kill_timeout : PM2_DEFAULT_KILL_TIMEOUT_MS
    const cluster = a.exec_mode === 'cluster' || a.exec_mode === 'cluster_mode' || (a.instances !== undefined && a.instances !== 1 && a.exec_mode === undefined)
    // What PM2 puts in a worker's environment (measured with PM2 7): pm_id always, the timing settings only when set.
    const env: Record<string, string | undefined> = { pm_id: '0', NODE_APP_INSTANCE: '0', exec_mode: cluster ? 'cluster_mode' : 'fork_mode' }
    for (const key of ['kill_timeout', 'wait_ready', 'listen_timeout', 'shutdown_with_message']) if (a[key] !== undefined) env[key] = String(a[key])
    for (const [k, v] of Object.entries((a.env ?? {}) as Obj)) env[k] = String(v)
    const script = typeof a.script === 'string' ? a.script : ''
    const args = Array.isArray(a.args) ? a.args.map(String) : typeof a.args === 'string' ? splitWords(a.args) : []
    const interpreter = typeof a.interpreter === 'string' ? a.interpreter : undefined
    const argv = interpreter && interpreter !== 'node' && interpreter !== 'none' ? [interpreter, script, ...args] : /\.(c|m)?[jt]s$/.test(script) ? ['node', script, ...args] : [script, ...args]
    const cwd = typeof a.cwd === 'string' ? resolve(dirname(file), a.cwd) : dirname(file)
    const result = checkWorkload(
      {
        kind: 'pm2',
        where,
        gracePeriodMs: killTimeout,
        gracePeriodFrom: typeof a.kill_timeout === 'number' ? `kill_timeout: ${a.kill_timeout}` : 'kill_timeout (default 1600)',
        graceSetting: 'kill_timeout',
        graceValue: (ms) => String(ms),
        beforeSignalMs: 0,
        stopSignal: 'SIGINT',
        env,
        command: script ? { argv } : undefined,
        signalsMainOnly: true,
        scriptDirs: [cwd],
      },
      app,
      findings,
    )
    if (!result) continue
    if (a.wait_ready !== true) {
      findings.warn(where, 'pm2-no-wait-ready', `No wait_ready: on \`pm2 reload\` PM2 stops the old ${cluster ? 'worker' : 'process'} as soon as the new one is started, before it listens.`, 'Set wait_ready: true (lastcall sends \'ready\' once the server is ready) and a listen_timeout longer than the app\'s startup.')
    } else if (a.listen_timeout === undefined) {
      findings.warn(where, 'pm2-listen-timeout', 'wait_ready without listen_timeout: PM2 waits only its default 3 s for \'ready\' and then carries on as if the app were ready.', 'Set listen_timeout to more than the app\'s startup time, e.g. 10000.')
    }
    timings.push(result.timing)
  }
  return timings
}
