/**
 * Duration strings of the files read here. Docker Compose takes Go's
 * durations (`1m30s`, `10s`, `500ms`); systemd takes time spans (`30`,
 * `1min 30s`, `infinity`), bare numbers being seconds.
 */

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Milliseconds of a Compose duration, or undefined when it is not one. */
export function composeDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value * 1000
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined
  let total = 0
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * GO_UNITS[unit!]!
  return Math.round(total)
}

const SYSTEMD_UNITS: Array<[RegExp, number]> = [
  [/^(us|usec|µs)$/, 1e-3],
  [/^(ms|msec)$/, 1],
  [/^(s|sec|second|seconds)$/, 1000],
  [/^(m|min|minute|minutes)$/, 60_000],
  [/^(h|hr|hour|hours)$/, 3_600_000],
  [/^(d|day|days)$/, 86_400_000],
]

/** Milliseconds of a systemd time span (Infinity for `infinity`), or undefined when it is not one. */
export function systemdTimespan(value: string): number | undefined {
  const text = value.trim()
  if (text === 'infinity') return Infinity
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*([a-zµ]+)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) return undefined
  let total = 0
  for (const [, n, unit] of parts) {
    const factor = SYSTEMD_UNITS.find(([re]) => re.test(unit!))?.[1]
    if (factor === undefined) return undefined
    total += Number(n) * factor
  }
  return Math.round(total)
}
