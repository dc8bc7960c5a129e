/**
 * Core's tests use the shared runner and clients of @lastcall/test-utils;
 * what is core's own is where its fixtures live and what they print when
 * they listen (`{"event":"listening","ports":[...]}`).
 */
import { join } from 'node:path'
import { spawnFixture, startFixture as startShared, type Fixture as SharedFixture } from '@lastcall/test-utils'

export { send, keepAliveAgent, listen } from '@lastcall/test-utils'
export type { Reply, Outcome } from '@lastcall/test-utils'

export interface Fixture extends SharedFixture {
  /** The ports the fixture listens on (empty when started with `waitListening: false`). */
  ports: number[]
}

const fixtureDir = join(import.meta.dirname, 'fixtures')

/**
 * Forks `test/fixtures/<file>` on the Node running the tests, with `config` as
 * `LASTCALL_FIXTURE`, and resolves once it listens. The caller must `kill()`
 * it in a `finally`.
 */
export async function startFixture(file: string, config: unknown, { waitListening = true } = {}): Promise<Fixture> {
  const path = join(fixtureDir, file)
  if (!waitListening) return Object.assign(spawnFixture(path, { config, runtime: 'node' }), { ports: [] })
  const fixture = await startShared(path, { config, runtime: 'node' })
  return Object.assign(fixture, { ports: fixture.readyEvent.ports as number[] })
}
