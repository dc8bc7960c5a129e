/**
 * The body of every adapter's child-process fixture: builds the app with the
 * adapter's `create()`, listens, and prints one JSON object per line:
 * `{"event":"listening","port":N}`, `{"event":"note","name":...}`,
 * `{"event":"state","state":...}`, `{"event":"report","report":{...}}`.
 * Configured by the LASTCALL_FIXTURE environment variable: `{ options?, variant? }`, and PORT.
 * No vitest here: this runs in a plain Node process.
 */
import type { ShutdownOptions } from '@lastcall/core'
import type { AdapterUnderTest, AppKit, AppVariant } from './app.js'

export interface FixtureConfig {
  options?: ShutdownOptions
  variant?: AppVariant
}

export async function runFixture(create: AdapterUnderTest['create']): Promise<void> {
  const config = JSON.parse(process.env.LASTCALL_FIXTURE ?? '{}') as FixtureConfig
  const out = (event: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`)
  }
  const kit: AppKit = {
    note: (name) => out({ event: 'note', name }),
    // The fixture's /hold never opens: tests use /slow for a request in flight.
    gate: () => new Promise(() => {}),
  }
  const app = await create({ logger: false, ...config.options }, kit, config.variant ?? {})
  app.controller.on('state', (state) => out({ event: 'state', state }))
  app.controller.on('closed', (report) => out({ event: 'report', report }))
  // PORT is how @lastcall/testing's drainChild() tells an app where to listen.
  const port = await app.listen(process.env.PORT === undefined ? 0 : Number(process.env.PORT))
  out({ event: 'listening', port })
}
