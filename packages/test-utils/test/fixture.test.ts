import { afterEach, describe, expect, it } from 'vitest'
import { killFixtures, spawnFixture, startFixture } from '../src/index.js'

const echo = new URL('./fixtures/echo.ts', import.meta.url).pathname

afterEach(killFixtures)

describe('startFixture', () => {
  it('resolves with the ready event, keeps only JSON lines, and passes env and config', async () => {
    const f = await startFixture(echo, { env: { TEST_UTILS_ECHO: 'here' }, config: {}, stdin: true })
    expect(f.readyEvent).toEqual({ event: 'listening', env: 'here' })
    expect(f.events).toEqual([{ event: 'warming' }, { event: 'listening', env: 'here' }])
    f.command({ exit: 0 })
    await f.exited
  })

  it('sends commands on stdin and reads every line printed before the exit', async () => {
    const f = await startFixture(echo, { stdin: true })
    const seen: unknown[] = []
    f.onEvent((event) => seen.push(event))
    f.command({ hello: 1 })
    expect(await f.waitFor((e) => e.event === 'echo', 'the echo')).toEqual({ event: 'echo', message: { hello: 1 } })
    f.command({ exit: 7 })
    expect(await f.exited).toEqual({ code: 7, signal: null })
    // Read before `exited` resolved: the line printed just before the exit is there.
    expect(f.events.at(-1)).toEqual({ event: 'last' })
    expect(seen).toEqual([{ event: 'echo', message: { hello: 1 } }, { event: 'echo', message: { exit: 7 } }, { event: 'last' }])
    expect(f.exitedAt()).toBeTypeOf('number')
  })

  it('rejects, naming what it waited for and the stderr, when the child exits first', async () => {
    await expect(startFixture(echo, { config: { failWith: 'no database here' } })).rejects.toThrow(/exited \(3\) before its ready event; stderr:\nno database here/)
  })

  it('waits for the event it is told is the ready one', async () => {
    const f = await startFixture(echo, { ready: (e) => e.event === 'warming' })
    expect(f.readyEvent).toEqual({ event: 'warming' })
    expect(f.events[0]).toEqual({ event: 'warming' })
  })
})

describe('spawnFixture', () => {
  it('returns at once; kill() ends the child with SIGKILL', async () => {
    const f = spawnFixture(echo, { stdin: true })
    expect(f.exitedAt()).toBeUndefined()
    await f.waitFor((e) => e.event === 'listening')
    f.kill()
    expect(await f.exited).toEqual({ code: null, signal: 'SIGKILL' })
  })

  it('killFixtures() ends every child still running', async () => {
    const fixtures = [spawnFixture(echo, { stdin: true }), spawnFixture(echo, { stdin: true })]
    await Promise.all(fixtures.map((f) => f.waitFor((e) => e.event === 'listening')))
    killFixtures()
    expect(await Promise.all(fixtures.map((f) => f.exited))).toEqual([{ code: null, signal: 'SIGKILL' }, { code: null, signal: 'SIGKILL' }])
  })

  it('command() throws without a stdin pipe', async () => {
    const f = spawnFixture(echo)
    expect(() => f.command({})).toThrow(/stdin: true/)
  })
})
