import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { keepAliveAgent, send, startFixture, type Fixture } from './helpers.js'

const running: Fixture[] = []
afterEach(() => {
  for (const f of running.splice(0)) f.kill()
})

async function start(config: unknown): Promise<Fixture> {
  const fixture = await startFixture('server.ts', config)
  running.push(fixture)
  return fixture
}

const report = (f: Fixture) => f.waitFor((e) => e.event === 'report').then((e) => e.report)

describe('signal handling (real child processes)', () => {
  it('on SIGTERM finishes the in-flight request with 200 and exits 0', async () => {
    const f = await start({ options: { drainTimeoutMs: 5000 } })
    const agent = keepAliveAgent()
    const pending = send(f.ports[0]!, '/held', { agent })
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    const outcome = await pending
    agent.destroy()
    expect(outcome.ok && outcome.reply.status).toBe(200)
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(await report(f)).toMatchObject({ trigger: { type: 'signal', signal: 'SIGTERM' }, exitCode: 0, requests: { completed: 1 } })
  })

  it('handles SIGINT the same way', async () => {
    const f = await start({})
    process.kill(f.child.pid!, 'SIGINT')
    expect(await f.exited).toEqual({ code: 0, signal: null })
    expect(await report(f)).toMatchObject({ trigger: { signal: 'SIGINT' } })
  })

  it('exits at once with 128 + signal on a second signal during shutdown', async () => {
    const f = await start({ options: { drainTimeoutMs: 20_000, timeoutMs: 30_000 } })
    const pending = send(f.ports[0]!, '/hang')
    await f.waitFor((e) => e.event === 'request')
    process.kill(f.child.pid!, 'SIGTERM')
    await f.waitFor((e) => e.event === 'state' && e.state === 'draining')
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: 143, signal: null })
    expect((await pending).ok).toBe(false)
  })

  it('reports a hanging hook as timed out, still runs the others, and exits 1', async () => {
    const f = await start({
      hooks: {
        stuck: { behaviour: 'hang', timeoutMs: 200 },
        fine: { behaviour: 'ok' },
        later: { behaviour: 'ok', phase: 'stores' },
      },
    })
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await f.exited).code).toBe(1)
    const r = await report(f)
    const outcome = Object.fromEntries(r.hooks.map((h: { name: string; outcome: string }) => [h.name, h.outcome]))
    expect(outcome).toEqual({ stuck: 'timeout', fine: 'ok', later: 'ok' })
    expect(r.hooks.find((h: { name: string }) => h.name === 'stuck').error).toContain('did not finish within 200 ms')
  })

  it('reports a throwing hook, still runs the others, and exits 1', async () => {
    const f = await start({ hooks: { broken: { behaviour: 'throw' }, fine: { behaviour: 'ok' } } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await f.exited).code).toBe(1)
    const r = await report(f)
    expect(r.hooks).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'broken', outcome: 'error', error: 'broken broke' }),
      expect.objectContaining({ name: 'fine', outcome: 'ok' }),
    ]))
  })

  it('exits when timeoutMs fires even if a hook never returns, saying what was still running', async () => {
    const f = await start({ options: { timeoutMs: 600, drainTimeoutMs: 100 }, hooks: { forever: { behaviour: 'hang', timeoutMs: 60_000 } } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await f.exited).code).toBe(1)
    const r = await report(f)
    expect(r.timedOut).toBe(true)
    expect(r.pending).toEqual(['hook forever'])
    expect(r.durationMs).toBeLessThan(5000)
    // The hook is reported with the time it ran until timeoutMs abandoned it, not 0.
    const hook = r.hooks.find((h: { name: string }) => h.name === 'forever')
    expect(hook).toMatchObject({ outcome: 'pending' })
    expect(hook.startMs + hook.durationMs).toBeGreaterThanOrEqual(600)
    expect(hook.startMs + hook.durationMs).toBeLessThanOrEqual(r.durationMs)
  })

  it('runs hooks in phase order: intake beside the drain, then default, stores, telemetry', async () => {
    const f = await start({
      options: { readinessDelayMs: 100 },
      hooks: {
        logs: { behaviour: 'ok', phase: 'telemetry' },
        db: { behaviour: 'ok', phase: 'stores' },
        app: { behaviour: 'ok' },
        consumer: { behaviour: 'ok', phase: 'intake' },
        registry: { behaviour: 'ok', phase: 'deregister' },
      },
    })
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await f.exited).code).toBe(0)
    const order = f.events.filter((e) => e.event === 'hook' || e.event === 'state').map((e) => e.name ?? e.state)
    expect(order).toEqual(['serving', 'leaving', 'registry', 'draining', 'consumer', 'closing', 'app', 'db', 'logs', 'closed'])
  })

  it('with signals: [] installs no handler, so SIGTERM kills the process as usual', async () => {
    const f = await start({ options: { signals: [] } })
    process.kill(f.child.pid!, 'SIGTERM')
    expect(await f.exited).toEqual({ code: null, signal: 'SIGTERM' })
  })

  it('shuts two controllers down on one signal and exits once, with the higher code', async () => {
    const f = await start({ servers: 1, second: { hooks: { broken: { behaviour: 'throw' } } } })
    expect(f.ports).toHaveLength(2)
    process.kill(f.child.pid!, 'SIGTERM')
    expect((await f.exited).code).toBe(1)
    expect((await report(f)).exitCode).toBe(0)
    expect((await f.waitFor((e) => e.event === 'report2')).report.exitCode).toBe(1)
  })

  it('under PM2 shuts down on the "shutdown" message, and the IPC channel does not keep the process alive', async () => {
    const child = fork(join(import.meta.dirname, 'fixtures', 'server.ts'), [], {
      execArgv: ['--import', 'tsx', '--conditions=@lastcall/source'],
      env: { ...process.env, pm_id: '3', LASTCALL_FIXTURE: '{}' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    try {
      const messages: unknown[] = []
      child.on('message', (m) => messages.push(m))
      let out = ''
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
      const ready = new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()))
      await ready
      child.send('shutdown')
      const [code] = await once(child, 'exit')
      expect(code).toBe(0)
      expect(messages).toContain('ready')
      expect(out).toContain('"trigger":{"type":"message","message":"shutdown"}')
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
