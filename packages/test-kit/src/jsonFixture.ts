import { fileURLToPath } from 'node:url'
import type { ShutdownReport } from '@lastcall/core'
import { killFixtures, spawnFixture, type Fixture, type FixtureExit } from '@lastcall/test-utils'

export interface JsonFixture extends Omit<Fixture, 'exited'> {
  /** Resolves when the process exits, with its code, the report it printed, and when it exited. */
  exited: Promise<FixtureExit & { report: ShutdownReport | undefined; at: number }>
}

/**
 * Runs a TypeScript fixture from source on the Node running the tests (the
 * shared runner of @lastcall/test-utils) with `env` added. The fixture prints
 * one JSON object per line; the first one with a `report` is the shutdown's
 * report.
 */
export function startJsonFixture(file: string, env: Record<string, string>): JsonFixture {
  const fixture = spawnFixture(file, { env, runtime: 'node' })
  const exited = fixture.exited.then((exit) => ({ ...exit, report: fixture.events.find((e) => e.report)?.report as ShutdownReport | undefined, at: fixture.exitedAt()! }))
  return Object.assign(fixture, { exited })
}

/**
 * `startFixture(name, env)` for `<dir>/<name>.ts` and `killFixtures()` for
 * `afterEach`: what a package's `test/child.ts` exports.
 */
export function jsonFixtures(dir: URL): { startFixture: (name: string, env: Record<string, string>) => JsonFixture; killFixtures: () => void } {
  return { startFixture: (name, env) => startJsonFixture(fileURLToPath(new URL(`${name}.ts`, dir)), env), killFixtures }
}

/** Kills (by pid) every fixture still running; for afterEach. */
export const killJsonFixtures = killFixtures
