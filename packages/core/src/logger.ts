/**
 * The subset of a logger lastcall calls. pino, bunyan-style loggers and
 * `console` all fit: methods take an optional object of fields and a message.
 */
export interface Logger {
  info(...args: any[]): void
  warn(...args: any[]): void
  error(...args: any[]): void
  debug?(...args: any[]): void
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>
export type Log = (level: LogLevel, message: string, fields?: LogFields) => void

/**
 * Wraps a user logger into one function. pino-style loggers get
 * `(fields, message)`; `console` gets one readable line, because printing an
 * object before the message is what `console.info(obj, msg)` would do.
 */
export function toLog(logger: Logger | false | undefined, fallback: Logger): Log {
  if (logger === false) return () => {}
  const target = logger ?? fallback
  if (target === globalThis.console) {
    return (level, message, fields) => {
      const line = `[lastcall] ${message}${formatFields(fields)}`
      if (level === 'debug') return
      target[level](line)
    }
  }
  return (level, message, fields) => {
    const method = level === 'debug' ? target.debug : target[level]
    if (typeof method !== 'function') return
    if (fields) method.call(target, { lastcall: true, ...fields }, message)
    else method.call(target, { lastcall: true }, message)
  }
}

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return ''
  let out = ''
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    out += ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`
  }
  return out
}

export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.info === 'function' && typeof v.warn === 'function' && typeof v.error === 'function'
}
