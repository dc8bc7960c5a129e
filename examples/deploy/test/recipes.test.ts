/**
 * Checks the deployment recipes with what runs here: the YAML parses and
 * says what the README promises, the systemd unit passes
 * `systemd-analyze verify`, the PM2 file loads in node, every grace period
 * handed to lastcall matches its platform's setting and fits the server's
 * timeoutMs, and the server itself drains on SIGTERM. The Docker engine,
 * socket activation and systemd's notify socket are exercised for real in
 * docker.test.ts, socket-activation.test.ts and systemd-notify.test.ts.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { createShutdown } from '@lastcall/core'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAllDocuments, parse as parseYaml } from 'yaml'

const root = join(import.meta.dirname, '..')
const read = (file: string): string => readFileSync(join(root, file), 'utf8')

/** The timeoutMs server.mjs passes to createShutdown. */
const serverTimeoutMs = Number(/timeoutMs: ([\d_]+)/.exec(read('server.mjs'))![1]!.replaceAll('_', ''))

/** The warnings lastcall logs at creation for this grace period and the server's timeoutMs. */
function graceWarnings(graceMs: string): string[] {
  const warnings: string[] = []
  const ignore = (): void => {}
  createShutdown({ signals: [], exit: false, timeoutMs: serverTimeoutMs, env: { LASTCALL_GRACE_PERIOD_MS: graceMs }, logger: { info: ignore, error: ignore, warn: (_fields: unknown, message: string) => warnings.push(message) } })
  return warnings
}

describe('timing', () => {
  it('warns for Docker’s default 10 s against the server’s timeoutMs (the check the recipes rely on)', () => {
    expect(serverTimeoutMs).toBe(25_000)
    expect(graceWarnings('10000')).toEqual([expect.stringContaining('timeoutMs (25000 ms) + safety margin (1000 ms) = 26000 ms does not fit')])
  })
})

describe('kubernetes/deployment.yaml', () => {
  const docs = parseAllDocuments(read('kubernetes/deployment.yaml')).map((d) => {
    expect(d.errors).toEqual([])
    return d.toJS() as Record<string, any>
  })
  const deployment = docs.find((d) => d.kind === 'Deployment')!
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]))

  it('is a Deployment and a Service selecting its pods', () => {
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service'])
    const service = docs[1]!
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels)
    expect(service.spec.ports[0].targetPort).toBe(container.ports[0].name)
  })

  it('probes lastcall’s default endpoints', () => {
    expect(container.startupProbe.httpGet.path).toBe('/startupz')
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
  })

  it('passes the grace period left after preStop, and the server’s timeoutMs fits in it', () => {
    const preStopMs = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000
    expect(Number(env.LASTCALL_GRACE_PERIOD_MS)).toBe(pod.terminationGracePeriodSeconds * 1000 - preStopMs)
    expect(graceWarnings(env.LASTCALL_GRACE_PERIOD_MS)).toEqual([])
  })
})

describe('docker/', () => {
  const dockerfile = read('docker/Dockerfile')
  const instructions = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
  const compose = parseYaml(read('docker/compose.yaml')) as { services: Record<string, any> }

  it('Dockerfile: STOPSIGNAL SIGTERM and node started in exec form, so it receives the signal', () => {
    expect(instructions).toContain('STOPSIGNAL SIGTERM')
    const entry = instructions.find((l) => l.startsWith('ENTRYPOINT') || l.startsWith('CMD'))!
    const args = JSON.parse(entry.replace(/^(ENTRYPOINT|CMD)\s+/, '')) as string[]
    expect(args[0]).toBe('node')
    expect(instructions.some((l) => /^CMD\s+[^[]/.test(l) || /^ENTRYPOINT\s+[^[]/.test(l))).toBe(false)
  })

  it('Dockerfile and compose pass the same grace period, compose’s stop_grace_period, and the timeoutMs fits', () => {
    const app = compose.services.app
    expect(app.init).toBe(true)
    expect(app.stop_signal).toBe('SIGTERM')
    const graceMs = Number(/^(\d+)s$/.exec(app.stop_grace_period)![1]) * 1000
    expect(app.environment.LASTCALL_GRACE_PERIOD_MS).toBe(String(graceMs))
    expect(instructions).toContain(`ENV LASTCALL_GRACE_PERIOD_MS=${graceMs}`)
    expect(dockerfile).toContain(`--stop-timeout ${graceMs / 1000}`)
    expect(graceWarnings(String(graceMs))).toEqual([])
  })
})

describe('systemd/lastcall-example.service', () => {
  const unit = read('systemd/lastcall-example.service')
  const settings = new Map<string, string[]>()
  for (const line of unit.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line)
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!])
  }
  const environment = Object.fromEntries((settings.get('Environment') ?? []).map((e) => e.split('=') as [string, string]))

  it('is Type=notify with NotifyAccess=all, SIGTERM to the main process, and a grace period the timeoutMs fits', () => {
    expect(settings.get('Type')).toEqual(['notify'])
    expect(settings.get('NotifyAccess')).toEqual(['all'])
    expect(settings.get('KillSignal')).toEqual(['SIGTERM'])
    expect(settings.get('KillMode')).toEqual(['mixed'])
    const stopMs = Number(settings.get('TimeoutStopSec')![0]) * 1000
    expect(environment.LASTCALL_GRACE_PERIOD_MS).toBe(String(stopMs))
    expect(graceWarnings(environment.LASTCALL_GRACE_PERIOD_MS!)).toEqual([])
  })

  it('passes systemd-analyze verify without a warning, with its socket unit', async (context) => {
    if (!existsSync('/usr/bin/systemd-analyze') && !existsSync('/bin/systemd-analyze')) {
      context.skip('systemd-analyze is not installed here')
      return
    }
    // verify checks that ExecStart's program exists; the unit names /usr/bin/node.
    if (!existsSync('/usr/bin/node')) {
      context.skip('/usr/bin/node (the unit’s ExecStart) does not exist here')
      return
    }
    const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', join(root, 'systemd/lastcall-example.socket'), join(root, 'systemd/lastcall-example.service')])
    // It exits 0 even for unknown keys and bad values, but prints them.
    expect(stderr).toBe('')
    expect(stdout).toBe('')
  })
})

describe('pm2/ecosystem.config.cjs', () => {
  it('loads in node and waits for ready, shuts down by message, and passes kill_timeout as the grace period', () => {
    const config = createRequire(import.meta.url)(join(root, 'pm2/ecosystem.config.cjs')) as { apps: Array<Record<string, any>> }
    const app = config.apps[0]!
    expect(app).toMatchObject({ wait_ready: true, shutdown_with_message: true })
    expect(app.listen_timeout).toBeGreaterThan(0)
    expect(app.env.LASTCALL_GRACE_PERIOD_MS).toBe(String(app.kill_timeout))
    expect(existsSync(join(app.cwd, app.script))).toBe(true)
    expect(graceWarnings(app.env.LASTCALL_GRACE_PERIOD_MS)).toEqual([])
  })
})

describe('server.mjs', () => {
  const children: Array<() => void> = []
  afterEach(() => {
    for (const kill of children.splice(0)) kill()
  })

  it('becomes ready, serves, and on SIGTERM drains and exits 0 without a grace-period warning', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', 'server.mjs'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LASTCALL_GRACE_PERIOD_MS: '30000', NOTIFY_SOCKET: undefined, pm_id: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const lines = createInterface({ input: child.stdout })
    const [line] = (await once(lines, 'line')) as [string]
    const port = Number(/listening on (\d+)/.exec(line)![1])
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
    expect(ready.status).toBe(200)
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(`hello from ${child.pid}\n`)
    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
    // No grace-period warning: 25 s + 1 s fits in 30 s.
    expect(stderr).not.toContain('does not fit')
  })
})

describe('systemd/lastcall-example.socket', () => {
  it('hands one listening socket named http to the service of the same name, with room to queue during a restart', () => {
    const socket = read('systemd/lastcall-example.socket')
    expect(socket).toMatch(/^Accept=no$/m)
    expect(socket).toMatch(/^FileDescriptorName=http$/m)
    expect(Number(/^Backlog=(\d+)$/m.exec(socket)?.[1])).toBeGreaterThanOrEqual(511)
    expect(existsSync(join(root, 'systemd/lastcall-example.service'))).toBe(true)
  })
})
