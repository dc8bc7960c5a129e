/**
 * `lastcall check --config`: the project's own recipes (examples/deploy) pass,
 * and a broken copy of each fails with the right finding. The copies are made
 * here from the recipes, one edit each, so they follow the recipes as those change.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkConfig, type ConfigCheckResult } from '../src/index.js'

const root = join(import.meta.dirname, '..')
const recipes = join(root, '..', '..', 'examples', 'deploy')
const TSX = ['--import', 'tsx', '--conditions=@lastcall/source']
const scratch = mkdtempSync(join(tmpdir(), 'lastcall-config-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

let copies = 0
/** A copy of a recipe with each `[from, to]` replaced; every `from` must be in the recipe. */
function broken(recipe: string, edits: Array<[string | RegExp, string]>, name = recipe.split('/').at(-1)!, extra: Record<string, string> = {}): string {
  let text = readFileSync(join(recipes, recipe), 'utf8')
  for (const [from, to] of edits) {
    expect(text, `${recipe} no longer contains ${String(from)}`).toMatch(typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : from)
    text = text.replace(from, to)
  }
  const dir = join(scratch, String(copies++))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, name), text)
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(dir, file), content, { mode: 0o755 })
  return join(dir, name)
}

/** The timeoutMs examples/deploy/server.mjs passes to createShutdown(): the check is told, as a user would with --app-options. */
const serverTimeoutMs = Number(/timeoutMs: ([\d_]+)/.exec(readFileSync(join(recipes, 'server.mjs'), 'utf8'))![1]!.replaceAll('_', ''))
const recipeApp = { options: { timeoutMs: serverTimeoutMs } }

const codes = (r: ConfigCheckResult, severity: 'error' | 'warning' = 'error'): string[] => (severity === 'error' ? r.errors : r.warnings).map((f) => f.code)

describe('checkConfig', () => {
  it('passes every recipe in examples/deploy, with no warning, and reads each as what it is', async () => {
    const r = await checkConfig({ paths: [recipes], ...recipeApp })
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual([])
    expect(r.ok).toBe(true)
    expect(Object.fromEntries(r.files.map((f) => [f.file.slice(recipes.length + 1), f.kind]))).toEqual({
      'docker/Dockerfile': 'dockerfile',
      'docker/compose.yaml': 'compose',
      'kubernetes/deployment.yaml': 'kubernetes',
      'pm2/ecosystem.config.cjs': 'pm2',
      'systemd/lastcall-example.service': 'systemd',
    })
    const k8s = r.timings.find((t) => t.kind === 'kubernetes')!
    // 45 s grace = 5 s preStop + timeoutMs 25 s (as core resolves it: readiness delay 5–6.25 s, a quarter of it;
    // drain 9.375 s, half of the rest; 9.375 s left for hooks) + 1 s margin: 14 s to spare.
    expect(k8s).toMatchObject({ gracePeriodMs: 45_000, beforeSignalMs: 5000, readinessDelayMinMs: 5000, readinessDelayMaxMs: 6250, drainTimeoutMs: 9375, hooksMs: 9375, timeoutMs: 25_000, neededMs: 31_000, probeDetectionMs: 3000 })
  })

  it('passes the recipes with lastcall\'s plain defaults too (an app that sets no option)', async () => {
    const r = await checkConfig({ paths: [recipes] })
    expect(r.errors).toEqual([])
  })

  describe('broken copies of the recipes', () => {
    const cases: Array<{ name: string; make: () => string; code: string; message: RegExp; app?: { options?: Record<string, unknown>; envOptions?: Record<string, string> } }> = [
      {
        name: 'Kubernetes: grace period shorter than preStop + lastcall\'s shutdown',
        make: () => broken('kubernetes/deployment.yaml', [['terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30'], ['value: "40000"', 'value: "25000"']]),
        code: 'grace-period-short',
        message: /terminationGracePeriodSeconds: 30 \(30 s\) is shorter than preStop 5 s \+ readiness delay up to 6.25 s \+ drain 9.375 s \+ hooks 9.375 s \(timeoutMs 25 s\) \+ margin 1 s = 31 s: the platform SIGKILLs the app 1 s before/,
      },
      {
        name: 'Kubernetes: LASTCALL_GRACE_PERIOD_MS ignores the preStop',
        make: () => broken('kubernetes/deployment.yaml', [['terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30'], ['value: "40000"', 'value: "30000"']]),
        code: 'grace-period-mismatch',
        message: /grace period of 30000 ms .* but the process gets 25000 ms \(30 s minus the preStop 5 s\): its startup check passes when it should warn/,
      },
      {
        name: 'Kubernetes: readiness probe slower than the readiness delay',
        make: () => broken('kubernetes/deployment.yaml', [[/periodSeconds: 2\n(\s+)failureThreshold: 1/, 'periodSeconds: 10\n$1failureThreshold: 3']]),
        code: 'readiness-delay-short',
        message: /up to 31 s to see readiness fail \(periodSeconds 10 × failureThreshold 3 \+ timeoutSeconds 1\), longer than lastcall's longest readiness delay \(readinessDelayMaxMs 6.25 s\)/,
      },
      {
        name: 'Kubernetes: npm start as the container command',
        make: () => broken('kubernetes/deployment.yaml', [['image: registry.example.com/lastcall-example:1.0.0', 'image: registry.example.com/lastcall-example:1.0.0\n          command: ["npm", "start"]']]),
        code: 'package-manager-pid1',
        message: /SIGTERM goes to the package manager: npm start/,
      },
      {
        name: 'Kubernetes: a readinessDelayMs the app sets through its own variable',
        make: () => broken('kubernetes/deployment.yaml', [['- name: PORT', '- name: READINESS_DELAY_MS\n              value: "2000"\n            - name: PORT']]),
        app: { envOptions: { READINESS_DELAY_MS: 'readinessDelayMs' } },
        code: 'readiness-delay-short',
        message: /up to 3 s to see readiness fail .* longer than lastcall's readiness delay \(2 s\)/,
      },
      {
        name: 'Compose: Docker\'s default 10 s grace period',
        make: () => broken('docker/compose.yaml', [[/\n\s+stop_grace_period: 30s/, ''], ['LASTCALL_GRACE_PERIOD_MS: "30000"', 'LASTCALL_GRACE_PERIOD_MS: "10000"']]),
        code: 'grace-period-short',
        message: /stop_grace_period \(default 10s\) \(10 s\) is shorter than readiness delay up to 6.25 s \+ drain 9.375 s \+ hooks 9.375 s \(timeoutMs 25 s\) \+ margin 1 s = 26 s/,
      },
      {
        name: 'Compose: a stop signal lastcall does not handle',
        make: () => broken('docker/compose.yaml', [['stop_signal: SIGTERM', 'stop_signal: SIGQUIT']]),
        code: 'signal-unhandled',
        message: /stops the app with SIGQUIT, which lastcall does not handle \(signals: SIGTERM, SIGINT\)/,
      },
      {
        name: 'Compose: a shell command in front of node',
        make: () => broken('docker/compose.yaml', [['init: true', 'init: true\n    command: ["sh", "-c", "node server.mjs"]']]),
        code: 'shell-no-forward',
        message: /SIGTERM goes to a shell, not to node: sh -c 'node server.mjs'/,
      },
      {
        name: 'Dockerfile: shell-form CMD',
        make: () => broken('docker/Dockerfile', [['ENTRYPOINT ["node", "server.mjs"]', 'CMD node server.mjs']]),
        code: 'shell-no-forward',
        message: /the shell form runs \/bin\/sh -c 'node server.mjs'/,
      },
      {
        name: 'Dockerfile: an entrypoint script that does not exec node',
        make: () => broken('docker/Dockerfile', [['ENTRYPOINT ["node", "server.mjs"]', 'ENTRYPOINT ["./entrypoint.sh"]']], 'Dockerfile', { 'entrypoint.sh': '#!/bin/sh\nset -e\necho starting\nnode server.mjs\n' }),
        code: 'wrapper-no-exec',
        message: /\.\/entrypoint\.sh \(.*entrypoint\.sh\) starts the app without exec/,
      },
      {
        name: 'Dockerfile: STOPSIGNAL lastcall does not handle',
        make: () => broken('docker/Dockerfile', [['STOPSIGNAL SIGTERM', 'STOPSIGNAL SIGUSR2']]),
        code: 'signal-unhandled',
        message: /stops the app with SIGUSR2/,
      },
      {
        name: 'Dockerfile: npm start',
        make: () => broken('docker/Dockerfile', [['ENTRYPOINT ["node", "server.mjs"]', 'CMD ["npm", "start"]']]),
        code: 'package-manager-pid1',
        message: /npm start runs node under npm/,
      },
      {
        name: 'systemd: TimeoutStopSec shorter than the shutdown',
        make: () => broken('systemd/lastcall-example.service', [['TimeoutStopSec=30', 'TimeoutStopSec=20s'], ['LASTCALL_GRACE_PERIOD_MS=30000', 'LASTCALL_GRACE_PERIOD_MS=20000']]),
        code: 'grace-period-short',
        message: /TimeoutStopSec=20s \(20 s\) is shorter than .* = 26 s: the platform SIGKILLs the app 6 s before/,
      },
      {
        name: 'systemd: Type=notify without NotifyAccess=all',
        make: () => broken('systemd/lastcall-example.service', [[/\nNotifyAccess=all/, '']]),
        code: 'notify-access',
        message: /Type=notify with NotifyAccess=main \(the default\)/,
      },
      {
        name: 'systemd: a shell ExecStart with KillMode=mixed',
        make: () => broken('systemd/lastcall-example.service', [['ExecStart=/usr/bin/node /opt/lastcall-example/server.mjs', 'ExecStart=/bin/sh -c "node /opt/lastcall-example/server.mjs"']]),
        code: 'shell-no-forward',
        message: /sh -c 'node \/opt\/lastcall-example\/server.mjs' keeps the shell as the parent of node/,
      },
      {
        name: 'systemd: KillSignal lastcall does not handle',
        make: () => broken('systemd/lastcall-example.service', [['KillSignal=SIGTERM', 'KillSignal=SIGHUP']]),
        code: 'signal-unhandled',
        message: /stops the app with SIGHUP/,
      },
      {
        name: 'PM2: the default kill_timeout (1.6 s)',
        make: () => broken('pm2/ecosystem.config.cjs', [[/\n\s+kill_timeout: KILL_TIMEOUT_MS,/, '']]),
        code: 'grace-period-short',
        message: /kill_timeout \(default 1600\) \(1.6 s\) is shorter than .* = 26 s/,
      },
      {
        name: 'PM2: a timeoutMs the app is given that does not fit kill_timeout',
        make: () => broken('pm2/ecosystem.config.cjs', [['const KILL_TIMEOUT_MS = 30_000', 'const KILL_TIMEOUT_MS = 20_000']]),
        code: 'grace-period-short',
        message: /kill_timeout: 20000 \(20 s\) is shorter than .* = 26 s.*/,
      },
    ]
    for (const c of cases) {
      it(`${c.name}: ${c.code}`, async () => {
        const r = await checkConfig({ paths: [c.make()], ...recipeApp, ...(c.app ?? {}), options: { ...recipeApp.options, ...(c.app?.options ?? {}) } } as Parameters<typeof checkConfig>[0])
        expect(r.ok).toBe(false)
        expect(codes(r)).toContain(c.code)
        expect(r.errors.find((f) => f.code === c.code)!.message).toMatch(c.message)
      })
    }
  })

  it('reads PM2 ecosystem files in JSON and YAML, and Compose durations like 1m30s', async () => {
    const dir = join(scratch, 'formats')
    mkdirSync(dir, { recursive: true })
    const app = { name: 'api', script: 'server.mjs', wait_ready: true, listen_timeout: 10_000, kill_timeout: 5000 }
    writeFileSync(join(dir, 'ecosystem.json'), JSON.stringify({ apps: [app] }))
    writeFileSync(join(dir, 'ecosystem.yaml'), `apps:\n  - name: api\n    script: server.mjs\n    wait_ready: true\n    listen_timeout: 10000\n    kill_timeout: 30000\n    env:\n      LASTCALL_GRACE_PERIOD_MS: "30000"\n`)
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  api:\n    image: api\n    init: true\n    stop_grace_period: 1m30s\n    environment:\n      - LASTCALL_GRACE_PERIOD_MS=90000\n')
    const r = await checkConfig({ paths: [dir], ...recipeApp })
    expect(r.files.map((f) => [f.file.slice(dir.length + 1), f.kind])).toEqual([['compose.yaml', 'compose'], ['ecosystem.json', 'pm2'], ['ecosystem.yaml', 'pm2']])
    expect(r.errors.map((f) => [f.file.slice(dir.length + 1), f.code])).toEqual([['ecosystem.json', 'grace-period-short']])
    expect(r.timings.find((t) => t.kind === 'compose')!.gracePeriodMs).toBe(90_000)
  })

  it('uses core\'s safety margin, a quarter of a short grace period: PM2\'s default 1.6 s fits a timeoutMs of 1.2 s, not 1.3 s', async () => {
    const dir = join(scratch, 'pm2-short')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'ecosystem.json')
    writeFileSync(file, JSON.stringify({ apps: [{ name: 'api', script: 'server.mjs', env: { LASTCALL_GRACE_PERIOD_MS: '1600' } }] }))
    const fits = await checkConfig({ paths: [file], options: { timeoutMs: 1200 } })
    expect(codes(fits)).toEqual([])
    expect(fits.timings[0]).toMatchObject({ gracePeriodMs: 1600, timeoutMs: 1200, marginMs: 399, neededMs: 1599 })
    // Left to core, timeoutMs is fitted to the grace period the same way.
    expect((await checkConfig({ paths: [file] })).timings[0]).toMatchObject({ timeoutMs: 1200 })
    const short = await checkConfig({ paths: [file], options: { timeoutMs: 1300 } })
    expect(codes(short)).toEqual(['grace-period-short'])
    expect(short.errors[0]!.fix).toBe('Raise kill_timeout to at least 1733, or lower timeoutMs to at most 1200 ms (the readiness delay and drain shrink with it).')
  })

  it('takes the app\'s own options: a smaller timeoutMs fits a shorter grace period', async () => {
    const file = broken('docker/compose.yaml', [[/\n\s+stop_grace_period: 30s/, ''], ['LASTCALL_GRACE_PERIOD_MS: "30000"', 'LASTCALL_GRACE_PERIOD_MS: "10000"']])
    expect((await checkConfig({ paths: [file], ...recipeApp })).ok).toBe(false)
    const r = await checkConfig({ paths: [file], options: { timeoutMs: 9000 } })
    expect(r.errors).toEqual([])
    expect(r.timings[0]).toMatchObject({ timeoutMs: 9000, readinessDelayMaxMs: 2250, neededMs: 10_000 })
  })

  it('follows core\'s platform defaults: with no grace period given, a Dockerfile is fine when lastcall fits itself into Docker\'s 10 s, and warned about when the app fixes timeoutMs', async () => {
    const file = broken('docker/Dockerfile', [[/\nENV LASTCALL_GRACE_PERIOD_MS=\d+/, '']])
    const fixed = await checkConfig({ paths: [file], ...recipeApp })
    expect(codes(fixed, 'warning')).toEqual(['docker-default-grace'])
    expect(fixed.warnings[0]!.message).toContain("Docker's default is 10 s, shorter than readiness delay up to 6.25 s + drain 9.375 s + hooks 9.375 s + margin 1 s = 26 s")
    const fitted = await checkConfig({ paths: [file] })
    expect(fitted.errors).toEqual([])
    expect(fitted.warnings).toEqual([])
    expect(fitted.timings[0]!.neededMs).toBeLessThanOrEqual(10_000)
  })

  it('lets through what does pass the signal on (tini in front, a shell that execs node) and counts an exec preStop sleep', async () => {
    const pass = broken('kubernetes/deployment.yaml', [
      ['image: registry.example.com/lastcall-example:1.0.0', 'image: registry.example.com/lastcall-example:1.0.0\n          command: ["/sbin/tini", "--", "sh", "-c", "exec node server.mjs"]'],
      [/sleep:\n(\s+)seconds: 5/, 'exec:\n$1command: ["sh", "-c", "sleep 5"]'],
    ])
    const r = await checkConfig({ paths: [pass], ...recipeApp })
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual([])
    expect(r.timings[0]).toMatchObject({ beforeSignalMs: 5000, neededMs: 31_000 })
    const fail = broken('kubernetes/deployment.yaml', [['image: registry.example.com/lastcall-example:1.0.0', 'image: registry.example.com/lastcall-example:1.0.0\n          command: ["/sbin/tini", "--", "sh", "-c", "node server.mjs"]']])
    expect(codes(await checkConfig({ paths: [fail], ...recipeApp }))).toEqual(['shell-no-forward'])
  })

  it('reports options lastcall would refuse in that environment', async () => {
    const file = broken('kubernetes/deployment.yaml', [['value: "40000"', 'value: "40s"']])
    const r = await checkConfig({ paths: [file], ...recipeApp })
    expect(codes(r)).toEqual(['options-invalid'])
    expect(r.errors[0]!.message).toContain('env.LASTCALL_GRACE_PERIOD_MS')
  })

  it('warns, without failing, about what works but is fragile', async () => {
    const file = broken('docker/compose.yaml', [[/\n\s+init: true/, '']])
    const r = await checkConfig({ paths: [file], ...recipeApp })
    expect(r.ok).toBe(true)
    expect(codes(r, 'warning')).toEqual(['no-init'])
  })
})

/** Runs the real bin (from source, through tsx). */
async function bin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...TSX, join(root, 'src', 'bin.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

describe('lastcall check --config', () => {
  it('exits 0 on the recipes and 1 with --json findings on a broken copy', async () => {
    const good = await bin(['check', '--config', recipes, '--app-options', JSON.stringify(recipeApp.options)])
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/PASS {2}5 files, 5 workloads: 0 errors, 0 warnings/)
    const file = broken('systemd/lastcall-example.service', [['TimeoutStopSec=30', 'TimeoutStopSec=10']])
    const bad = await bin(['check', '--json', '--config', file, '--app-options', JSON.stringify(recipeApp.options)])
    expect(bad.code).toBe(1)
    const result = JSON.parse(bad.stdout) as ConfigCheckResult
    expect(result.ok).toBe(false)
    expect(result.errors.map((f) => f.code)).toEqual(['grace-period-short', 'grace-period-mismatch'])
    expect(dirname(result.files[0]!.file)).toBe(dirname(file))
  })

  it('is a usage error (2) with a command, or for a missing file', async () => {
    expect((await bin(['check', '--config', recipes, '--', 'node', 'x.js'])).code).toBe(2)
    const missing = await bin(['check', '--config', join(scratch, 'nope.yaml')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('no such file or directory')
  })
})
