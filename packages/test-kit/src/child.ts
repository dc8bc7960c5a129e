import { startFixture as startShared, type Fixture as SharedFixture, type Runtime } from '@lastcall/test-utils'
import type { FixtureCommand, FixtureConfig } from './fixture.js'

export interface Fixture extends SharedFixture {
  /** The port the app listens on. */
  port: number
  /** Sends a command to a fixture started with `control: true` (see `FixtureCommand`). */
  command(command: FixtureCommand): void
}

export interface StartFixtureOptions {
  /** The runtime that runs the app (default: `LASTCALL_FIXTURE_RUNTIME`, else the Node running the tests). */
  runtime?: Runtime | undefined
}

/**
 * Starts an adapter's fixture app (`runFixture(create)`, configured by
 * `config`) on the shared runner and resolves once it listens. The caller must
 * `kill()` it in a `finally`. Rejects when the runtime cannot run here.
 */
export async function startFixture(file: string, config: FixtureConfig, options: StartFixtureOptions = {}): Promise<Fixture> {
  const fixture = await startShared(file, { config, runtime: options.runtime, stdin: config.control === true })
  return Object.assign(fixture, { port: fixture.readyEvent.port as number })
}
