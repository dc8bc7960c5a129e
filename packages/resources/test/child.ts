import { jsonFixtures, type JsonFixture } from '@lastcall/test-kit/json-fixture'

export type Fixture = JsonFixture

/** `startFixture(name, env)` runs `test/fixtures/<name>.ts` from source; `killFixtures()` is for afterEach. */
export const { startFixture, killFixtures } = jsonFixtures(new URL('./fixtures/', import.meta.url))
