/**
 * The body of every adapter's child-process fixture: builds the app with the
 * adapter's `create()`, listens, and prints one JSON object per line:
 * `{"event":"listening","port":N}`, `{"event":"note","name":...}`,
 * `{"event":"state","state":...}`, `{"event":"report","report":{...}}`.
 * Configured by the LASTCALL_FIXTURE environment variable: `{ options?, variant?, control? }`, and PORT.
 * No vitest here: this runs in a plain process, on Node, Bun or Deno.
 */
import { createInterface } from 'node:readline'
import type { ShutdownOptions } from '@lastcall/core'
import { TestKit, type AdapterUnderTest, type AppKit, type AppVariant } from './app.js'

export interface FixtureConfig {
  options?: ShutdownOptions
  variant?: AppVariant
  /**
   * Read commands from stdin, one JSON line each (`FixtureCommand`), so a test
   * can drive the app's controller and `/hold` gate from outside the process:
   * how the conformance suite runs on Bun and Deno.
   */
  control?: boolean
}

/** What a controlling test can ask of the fixture. */
export type FixtureCommand = { cmd: 'openGate' } | { cmd: 'ready' } | { cmd: 'shutdown'; reason: string }

export async function runFixture(create: AdapterUnderTest['create']): Promise<void> {
  const config = JSON.parse(process.env.LASTCALL_FIXTURE ?? '{}') as FixtureConfig
  const out = (event: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`)
  }
  // Under control the gate opens on command; otherwise /hold never answers
  // (tests use /slow for a request in flight).
  const gates = config.control ? new TestKit() : undefined
  const kit: AppKit = {
    note: (name) => out({ event: 'note', name }),
    gate: () => gates?.gate() ?? new Promise(() => {}),
  }
  const app = await create({ logger: false, ...config.options }, kit, config.variant ?? {})
  out({ event: 'state', state: app.controller.state })
  app.controller.on('state', (state) => out({ event: 'state', state }))
  app.controller.on('closed', (report) => out({ event: 'report', report }))
  if (config.control) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      const command = JSON.parse(line) as FixtureCommand
      if (command.cmd === 'openGate') gates!.openGate()
      else if (command.cmd === 'ready') app.controller.ready()
      else void app.controller.shutdown(command.reason)
    })
  }
  // PORT is how @lastcall/testing's drainChild() tells an app where to listen.
  const port = await app.listen(process.env.PORT === undefined ? 0 : Number(process.env.PORT))
  out({ event: 'listening', port })
}
