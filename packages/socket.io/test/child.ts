import { fileURLToPath } from 'node:url'
import { killJsonFixtures, startJsonFixture, type JsonFixture } from '@lastcall/test-kit/json-fixture'

export type Fixture = JsonFixture

/** Runs `test/fixtures/<name>.ts` from source; it prints one JSON object per line. */
export function startFixture(name: string, env: Record<string, string>): Fixture {
  return startJsonFixture(fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url)), env)
}

/** Kills (by pid) every fixture still running; for afterEach. */
export const killFixtures = killJsonFixtures
