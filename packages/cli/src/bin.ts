#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { LastcallOptionError } from '@lastcall/core'
import { parse, UsageError, USAGE } from './args.js'
import { check } from './check.js'
import { checkConfig, ConfigFileError } from './config/checkConfig.js'
import { formatConfigResult } from './config/formatConfig.js'
import { formatResult, progressWriter } from './format.js'
import { exitCli, exitCliNow, onCliSignal } from './signals.js'

async function main(argv: readonly string[]): Promise<number> {
  let parsed
  try {
    parsed = parse(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`lastcall: ${error.message}\n\n${USAGE}\n`)
    return 2
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (parsed.kind === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  if (parsed.kind === 'config') {
    try {
      const result = await checkConfig(parsed.options)
      process.stdout.write(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatConfigResult(result)}\n`)
      return result.ok ? 0 : 1
    } catch (error) {
      if (!(error instanceof ConfigFileError)) throw error
      process.stderr.write(`lastcall: ${error.message}\n`)
      return 2
    }
  }
  // Ctrl-C on the CLI: check() stops the app's process group in its finally, then we leave.
  let interrupted = false
  const abort = new AbortController()
  const off = onCliSignal((signal) => {
    if (interrupted) exitCliNow(130)
    interrupted = true
    process.stderr.write(`\nlastcall: ${signal}, stopping the app\n`)
    abort.abort()
  })
  try {
    const result = await check({ ...parsed.options, signal: abort.signal, onProgress: progressWriter(process.stderr) })
    if (parsed.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else process.stdout.write(`${formatResult(result)}\n`)
    return interrupted ? 130 : result.ok ? 0 : 1
  } catch (error) {
    if (error instanceof LastcallOptionError) {
      process.stderr.write(`${error.message}\n`)
      return 2
    }
    throw error
  } finally {
    off()
  }
}

main(process.argv.slice(2)).then(exitCli, (error: unknown) => {
  process.stderr.write(`lastcall: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  exitCli(2)
})
