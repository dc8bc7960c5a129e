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
/** Never throws: a logger that throws (pino on a destroyed destination) must not stop a shutdown. */
export type Log = (level: LogLevel, message: string, fields?: LogFields) => void

/** Where a line goes when the logger itself fails; `ProcessHost.stderr` in the controller. */
export type LineWriter = (line: string) => void

const consoleError: LineWriter = (line) => globalThis.console.error(line)

/**
 * Wraps a user logger into one function that never throws. pino-style
 * loggers get `(fields, message)`; `console` gets one readable line, because
 * printing an object before the message is what `console.info(obj, msg)`
 * would do. When the logger throws, the line and the logger's error go to
 * `fallback` (standard error) instead.
 */
export function toLog(logger: Logger | false | undefined, defaultLogger: Logger, fallback: LineWriter = consoleError): Log {
  if (logger === false) return () => {}
  const target = logger ?? defaultLogger
  const write = target === globalThis.console ? consoleLine(target) : structured(target)
  return (level, message, fields) => {
    try {
      write(level, message, fields)
    } catch (error) {
      try {
        fallback(`[lastcall] the logger threw (${errorMessage(error)}); its ${level} line was: ${message}${formatFields(fields)}`)
      } catch {
        // Nowhere left to write: the shutdown goes on regardless.
      }
    }
  }
}

function consoleLine(target: Logger): Log {
  return (level, message, fields) => {
    if (level === 'debug') return
    target[level](`[lastcall] ${message}${formatFields(fields)}`)
  }
}

function structured(target: Logger): Log {
  return (level, message, fields) => {
    const method = level === 'debug' ? target.debug : target[level]
    if (typeof method !== 'function') return
    if (fields) method.call(target, { lastcall: true, ...fields }, message)
    else method.call(target, { lastcall: true }, message)
  }
}

/** An error's message, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  try {
    return String(error)
  } catch {
    return 'an unprintable value'
  }
}

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return ''
  let out = ''
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    let text: string
    try {
      text = typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value)
    } catch {
      text = '[unserializable]'
    }
    out += ` ${key}=${text}`
  }
  return out
}

export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.info === 'function' && typeof v.warn === 'function' && typeof v.error === 'function'
}
