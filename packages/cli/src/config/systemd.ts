import { dirname } from 'node:path'
import { normalizeSignal } from './compose.js'
import { systemdTimespan } from './durations.js'
import type { FindingList, StopTiming } from './findings.js'
import { splitWords } from './startCommand.js'
import { checkWorkload } from './timing.js'
import type { AppSettings } from './budget.js'

/** systemd's `DefaultTimeoutStopSec`. */
const SYSTEMD_DEFAULT_STOP_MS = 90_000

/**
 * The settings of one section of a unit file, each key with every value it
 * was given in order. Follows systemd.syntax(7): `#` and `;` comments,
 * backslash continuation lines, an empty assignment resetting a list.
 * (No maintained npm package parses unit files; this is their whole grammar
 * for the keys read here.)
 */
export function unitSection(text: string, section: string): Map<string, string[]> {
  const settings = new Map<string, string[]>()
  let current = ''
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = pending + raw.trim()
    pending = ''
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `
      continue
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      current = header[1]!
      continue
    }
    if (current !== section) continue
    const eq = line.indexOf('=')
    if (eq < 0) continue
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (value === '') settings.set(key, [])
    else settings.set(key, [...(settings.get(key) ?? []), value])
  }
  return settings
}

/** Checks a service unit: `TimeoutStopSec`, `KillSignal`, `KillMode`, `Type=notify` with `NotifyAccess`, `ExecStart`, `Environment`. */
export function checkSystemd(text: string, file: string, app: AppSettings, findings: FindingList): StopTiming[] {
  const s = unitSection(text, 'Service')
  const one = (key: string): string | undefined => s.get(key)?.at(-1)
  const where = '[Service]'
  // systemd gives every service an INVOCATION_ID, which is how lastcall recognises it.
  const env: Record<string, string | undefined> = { INVOCATION_ID: '0' }
  for (const line of s.get('Environment') ?? []) {
    for (const assignment of splitWords(line)) {
      const eq = assignment.indexOf('=')
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1)
    }
  }
  if ((s.get('EnvironmentFile') ?? []).length > 0 && env.LASTCALL_GRACE_PERIOD_MS === undefined) {
    findings.warn(where, 'env-unknown', 'EnvironmentFile= is not read by this check; variables set there (LASTCALL_GRACE_PERIOD_MS) are left out.', 'Set lastcall\'s variables with Environment= in the unit, or pass the same options with --app-options.')
  }
  const stopRaw = one('TimeoutStopSec') ?? one('TimeoutSec')
  let graceMs = SYSTEMD_DEFAULT_STOP_MS
  let graceFrom = 'TimeoutStopSec (default 90s)'
  if (stopRaw !== undefined) {
    const parsed = systemdTimespan(stopRaw)
    if (parsed === undefined) findings.error(where, 'invalid-value', `TimeoutStopSec=${stopRaw} is not a time span.`, 'Write it like 30 or 30s or 1min 30s.')
    else {
      graceMs = parsed
      graceFrom = `${one('TimeoutStopSec') !== undefined ? 'TimeoutStopSec' : 'TimeoutSec'}=${stopRaw}`
    }
  }
  const killMode = one('KillMode') ?? 'control-group'
  const execStart = one('ExecStart')
  // ExecStart's prefixes (@, -, :, +, !) are not part of the command.
  const argv = execStart ? splitWords(execStart.replace(/^[@\-:+!]+/, '')) : undefined
  const result = checkWorkload(
    {
      kind: 'systemd',
      where,
      gracePeriodMs: graceMs,
      gracePeriodFrom: graceFrom,
      graceSetting: 'TimeoutStopSec',
      graceValue: (ms) => String(Math.ceil(ms / 1000)),
      beforeSignalMs: 0,
      stopSignal: normalizeSignal(one('KillSignal') ?? 'SIGTERM'),
      env,
      command: argv ? { argv } : undefined,
      // control-group signals every process of the unit, node included, so a shell in front does not matter.
      signalsMainOnly: killMode !== 'control-group',
      scriptDirs: [dirname(file), ...(one('WorkingDirectory') ? [one('WorkingDirectory')!] : [])],
    },
    app,
    findings,
  )
  if (!result) return []
  if ((one('Type') ?? 'simple') === 'notify' && !['all', 'exec'].includes(one('NotifyAccess') ?? 'main')) {
    findings.error(
      where,
      'notify-access',
      `Type=notify with NotifyAccess=${one('NotifyAccess') ?? 'main (the default)'}: lastcall sends READY=1 through the systemd-notify command, whose PID is not the main one, so systemd ignores it and kills the service when TimeoutStartSec runs out.`,
      'Set NotifyAccess=all.',
    )
  }
  if (killMode === 'none' || killMode === 'process') {
    findings.warn(where, 'kill-mode', `KillMode=${killMode}: processes the app started are not stopped with it${killMode === 'none' ? ', and not even SIGKILLed after TimeoutStopSec' : ''}.`, 'Use KillMode=mixed: the stop signal to the main process, SIGKILL to everything left at the end.')
  }
  if ((s.get('ExecStop') ?? []).length > 0) {
    findings.warn(where, 'exec-stop', 'ExecStop= runs before KillSignal is sent: whatever it does to the app happens before lastcall\'s shutdown starts, and the shutdown starts only once it ends.', 'Leave stopping to KillSignal (lastcall drains on it); drop ExecStop= unless it only does work outside the app.')
  }
  return [result.timing]
}
