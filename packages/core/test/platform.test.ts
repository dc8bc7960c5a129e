import { describe, expect, it } from 'vitest'
import { LastcallOptionError, ShutdownController, type Logger } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { detectPlatform, NO_FACTS, type PlatformFacts } from '../src/platform.js'
import type { Participant, ProcessHost } from '../src/process/signals.js'

type Env = Record<string, string | undefined>
const facts = (over: Partial<PlatformFacts> = {}): PlatformFacts => ({ ...NO_FACTS, ...over })
const resolve = (env: Env, f: PlatformFacts = NO_FACTS, input: Record<string, unknown> = {}) => resolveOptions({ exit: false, logger: false, ...input }, 'linux', env, f)

/** What a real Docker container shows on a cgroup v1 host (this machine's kind). */
const dockerCgroup = '12:pids:/docker/3f1c0c1e2f1ab3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c\n0::/\n'
const nodemonParent = ['node', '/app/node_modules/.bin/../nodemon/bin/nodemon.js', 'server.js']
const watchParent = ['/usr/bin/node', '--watch', 'server.js']

describe('detectPlatform', () => {
  it('recognises no platform from nothing, nor from a lone /.dockerenv (a VM built from a container image keeps it)', () => {
    expect(detectPlatform({}, NO_FACTS)).toMatchObject({ name: 'none', grace: undefined, evidence: [] })
    expect(detectPlatform({}, facts({ files: { dockerenv: true, containerenv: false }, cgroup: '0::/\n' })).name).toBe('none')
  })

  it('does not take a Docker host for a container: its dockerd service cgroup and its containers’ mounts are no evidence', () => {
    const host = facts({
      cgroup: '0::/system.slice/docker.service\n',
      mountinfo: '27 1 254:0 / / rw - ext4 /dev/vda rw\n42 27 254:0 /tmp/x-docker/data /tmp/x-docker/data rw - ext4 /dev/vda rw\n' +
        `90 42 0:50 / /var/lib/docker/overlay2/${'b2'.repeat(32)}/merged rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X\n`,
    })
    expect(detectPlatform({}, host).name).toBe('none')
  })

  it('recognises a container from podman’s variable, /run/.containerenv, a cgroup or a mount naming a runtime, and a per-container folder', () => {
    expect(detectPlatform({ container: 'podman' }, NO_FACTS).evidence).toEqual(['container: container=podman'])
    expect(detectPlatform({}, facts({ files: { dockerenv: false, containerenv: true } })).name).toBe('container')
    expect(detectPlatform({}, facts({ cgroup: dockerCgroup })).evidence).toEqual(['container: the cgroup names docker'])
    expect(detectPlatform({}, facts({ cgroup: '0::/system.slice/docker-3f1c0c1e2f1ab3a4c5d6e7f8.scope\n' })).evidence).toEqual(['container: the cgroup names docker'])
    expect(detectPlatform({}, facts({ mountinfo: '1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/containerd/x\n' })).evidence).toEqual(['container: / is mounted from containerd'])
    const hostname = `600 590 8:1 /scratch/root/containers/${'a1'.repeat(32)}/hostname /etc/hostname rw - ext4 /dev/vda rw\n`
    expect(detectPlatform({}, facts({ mountinfo: hostname })).evidence).toEqual(['container: /etc/hostname is mounted from a per-container folder'])
    const plat = detectPlatform({}, facts({ cgroup: dockerCgroup }))
    expect(plat.grace).toEqual({ ms: 10_000, source: "Docker's default stop timeout (10 s)", assumed: true })
  })

  it('under Kubernetes takes the pod’s 30 s, not Docker’s 10 s', () => {
    const p = detectPlatform({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, facts({ cgroup: '1:cpu:/kubepods/burstable/pod1/abc\n' }))
    expect(p).toMatchObject({ name: 'kubernetes', layers: ['kubernetes', 'container'], grace: { ms: 30_000, assumed: true } })
  })

  it('reads PM2’s kill_timeout, else assumes its 1600 ms default, and tells cluster mode from fork mode', () => {
    expect(detectPlatform({ pm_id: '0', exec_mode: 'fork_mode' }, NO_FACTS)).toMatchObject({ name: 'pm2', label: 'PM2 fork mode', clusterWorker: false, grace: { ms: 1600, assumed: true } })
    const cluster = detectPlatform({ pm_id: '1', exec_mode: 'cluster_mode', kill_timeout: '30000' }, facts({ clusterWorker: true }))
    expect(cluster).toMatchObject({ name: 'pm2', label: 'PM2 cluster mode', clusterWorker: true, grace: { ms: 30_000, source: 'PM2 kill_timeout', assumed: false } })
  })

  it('takes the shortest grace period of the layers: PM2 inside a container is killed at kill_timeout', () => {
    expect(detectPlatform({ pm_id: '0' }, facts({ cgroup: dockerCgroup })).grace?.ms).toBe(1600)
  })

  it('recognises a node:cluster worker and systemd', () => {
    expect(detectPlatform({}, facts({ clusterWorker: true }))).toMatchObject({ name: 'cluster', clusterWorker: true, grace: undefined })
    expect(detectPlatform({ INVOCATION_ID: 'abc' }, NO_FACTS)).toMatchObject({ name: 'systemd', grace: { ms: 90_000 } })
    expect(detectPlatform({ LISTEN_FDS: '1' }, NO_FACTS).name).toBe('systemd')
  })

  it('recognises nodemon from its process (it sets no variable) and its --signal; node --watch from WATCH_REPORT_DEPENDENCIES', () => {
    expect(detectPlatform({}, facts({ ancestors: [nodemonParent] }))).toMatchObject({ name: 'nodemon', dev: true, extraSignals: ['SIGUSR2'], repeatedSignals: ['SIGUSR2'] })
    expect(detectPlatform({}, facts({ ancestors: [['sh', '-c', 'ts-node x.ts'], ['node', '/usr/lib/node_modules/nodemon/bin/nodemon.js', '--signal', 'SIGHUP', '--exec', 'ts-node x.ts']] })).extraSignals).toEqual(['SIGHUP'])
    expect(detectPlatform({ WATCH_REPORT_DEPENDENCIES: '1' }, facts({ ancestors: [watchParent] }))).toMatchObject({ name: 'node-watch', dev: true, extraSignals: [] })
    expect(detectPlatform({ WATCH_REPORT_DEPENDENCIES: '1' }, facts({ ancestors: [['node', '--watch-kill-signal', 'SIGINT', '--watch', 'a.js']] })).extraSignals).toEqual([])
    expect(detectPlatform({ WATCH_REPORT_DEPENDENCIES: '1' }, facts({ ancestors: [['node', '--watch-kill-signal=SIGHUP', '--watch', 'a.js']] })).extraSignals).toEqual(['SIGHUP'])
    // A script merely named like it is not nodemon.
    expect(detectPlatform({}, facts({ ancestors: [['node', 'nodemon-config.js']] })).name).toBe('none')
  })
})

describe('platform defaults', () => {
  it('fits the shutdown inside Docker’s assumed 10 s: timeoutMs 9000, the delay and the drain inside it', () => {
    const o = resolve({}, facts({ cgroup: dockerCgroup }))
    expect(o).toMatchObject({ timeoutMs: 9000, readinessDelayMs: 'auto', readinessDelayMaxMs: 2250, drainTimeoutMs: 3375, idleLingerMs: 250, gracePeriodMs: 10_000 })
    expect(o.platformSummary).toBe("platform: a container (container: the cgroup names docker); grace period 10000 ms assumed: Docker's default stop timeout (10 s); timeoutMs 9000 to end before the grace period does")
  })

  it('keeps lastcall’s defaults under Kubernetes (they fit in 30 s) and under systemd (90 s)', () => {
    expect(resolve({ KUBERNETES_SERVICE_HOST: 'x' })).toMatchObject({ timeoutMs: 25_000, readinessDelayMinMs: 5000, readinessDelayMaxMs: 10_000, drainTimeoutMs: 10_000, gracePeriodMs: 30_000 })
    expect(resolve({ INVOCATION_ID: 'x' })).toMatchObject({ timeoutMs: 25_000, readinessDelayMs: 'auto', gracePeriodMs: 90_000 })
  })

  it('in a PM2 cluster worker with PM2’s defaults: no delay, timeoutMs 1200 inside kill_timeout 1600 (a margin of a quarter, 400 ms), a drain that outlasts the linger', () => {
    const o = resolve({ pm_id: '0', exec_mode: 'cluster_mode' }, facts({ clusterWorker: true }))
    expect(o).toMatchObject({ readinessDelayMs: 0, timeoutMs: 1200, drainTimeoutMs: 600, idleLingerMs: 250, gracePeriodMs: 1600 })
    expect(o.timeoutMs + 400).toBe(1600)
  })

  it('with a short kill_timeout (800 ms): a margin of 200, timeoutMs 600, and a linger that fits the 300 ms drain', () => {
    const o = resolve({ pm_id: '0', exec_mode: 'cluster_mode', kill_timeout: '800' }, facts({ clusterWorker: true }))
    expect(o).toMatchObject({ readinessDelayMs: 0, timeoutMs: 600, drainTimeoutMs: 300, idleLingerMs: 150, gracePeriodMs: 800 })
    expect(o.platformSummary).toMatch(/timeoutMs 600 to end before the grace period does, idleLingerMs 150 to fit a 300 ms drain$/)
  })

  it('in PM2 fork mode keeps the automatic delay within the fitted bounds', () => {
    expect(resolve({ pm_id: '0', exec_mode: 'fork_mode' })).toMatchObject({ readinessDelayMs: 'auto', timeoutMs: 1200, readinessDelayMaxMs: 300, drainTimeoutMs: 450, idleLingerMs: 225 })
  })

  it('with the PM2 recipe (kill_timeout 30000) keeps the 25 s bound and drops only the delay', () => {
    expect(resolve({ pm_id: '0', exec_mode: 'cluster_mode', kill_timeout: '30000' }, facts({ clusterWorker: true }))).toMatchObject({ readinessDelayMs: 0, timeoutMs: 25_000, drainTimeoutMs: 10_000, idleLingerMs: 250 })
  })

  it('a node:cluster worker gets no delay, except under Kubernetes', () => {
    expect(resolve({}, facts({ clusterWorker: true }))).toMatchObject({ readinessDelayMs: 0, timeoutMs: 25_000 })
    expect(resolve({ KUBERNETES_SERVICE_HOST: 'x' }, facts({ clusterWorker: true }))).toMatchObject({ readinessDelayMs: 'auto', readinessDelayMinMs: 5000 })
  })

  it('an inherited socket (LISTEN_FDS) gets no delay: nothing is refused while the next process starts, so waiting only slows the restart', () => {
    expect(resolve({ LISTEN_FDS: '1', LISTEN_PID: '42' })).toMatchObject({ readinessDelayMs: 0, timeoutMs: 25_000 })
    expect(resolve({ LISTEN_FDS: '1' }).platformSummary).toMatch(/no readiness delay for an inherited socket/)
    // systemd without an inherited socket, and a zero count, keep the automatic delay; so does Kubernetes.
    expect(resolve({ INVOCATION_ID: 'x' })).toMatchObject({ readinessDelayMs: 'auto' })
    expect(resolve({ LISTEN_FDS: '0' })).toMatchObject({ readinessDelayMs: 'auto' })
    expect(resolve({ LISTEN_FDS: '1', KUBERNETES_SERVICE_HOST: 'x' })).toMatchObject({ readinessDelayMs: 'auto' })
    expect(resolve({ LISTEN_FDS: '1' }, NO_FACTS, { readinessDelayMs: 2000 })).toMatchObject({ readinessDelayMs: 2000 })
  })

  it('a dev restart: no delay, a 1 s drain, 3 s in all, and nodemon’s SIGUSR2 handled', () => {
    expect(resolve({}, facts({ ancestors: [nodemonParent] }))).toMatchObject({ readinessDelayMs: 0, drainTimeoutMs: 1000, timeoutMs: 3000, signals: ['SIGTERM', 'SIGINT', 'SIGUSR2'] })
    expect(resolve({ WATCH_REPORT_DEPENDENCIES: '1' }, facts({ ancestors: [watchParent] }))).toMatchObject({ readinessDelayMs: 0, drainTimeoutMs: 1000, timeoutMs: 3000, signals: ['SIGTERM', 'SIGINT'] })
  })

  it('every choice yields to the options given', () => {
    const pm2 = { pm_id: '0', exec_mode: 'cluster_mode' }
    const worker = facts({ clusterWorker: true })
    expect(resolve(pm2, worker, { timeoutMs: 20_000 })).toMatchObject({ timeoutMs: 20_000, readinessDelayMs: 0 })
    expect(resolve(pm2, worker, { readinessDelayMaxMs: 300 })).toMatchObject({ readinessDelayMs: 'auto', readinessDelayMaxMs: 300 })
    expect(resolve(pm2, worker, { readinessDelayMs: 100 })).toMatchObject({ readinessDelayMs: 100, timeoutMs: 1200 })
    expect(resolve(pm2, worker, { idleLingerMs: 50 })).toMatchObject({ idleLingerMs: 50 })
    expect(resolve({}, facts({ ancestors: [nodemonParent] }), { signals: ['SIGTERM'] }).signals).toEqual(['SIGTERM'])
    // A drain that cannot fit in the fitted bound: the option holds, the bound is lastcall's own, the grace check will warn.
    expect(resolve(pm2, worker, { drainTimeoutMs: 5000 })).toMatchObject({ drainTimeoutMs: 5000, timeoutMs: 25_000, gracePeriodMs: 1600 })
    // A grace period given replaces the platform's, and fits timeoutMs the same way.
    expect(resolve({ pm_id: '0', LASTCALL_GRACE_PERIOD_MS: '20000' })).toMatchObject({ timeoutMs: 19_000, gracePeriodMs: 20_000 })
    expect(resolve({ pm_id: '0', LASTCALL_GRACE_PERIOD_MS: '20000' }).platformSummary).toMatch(/grace period 20000 ms as given, not PM2's default kill_timeout \(1600 ms\); timeoutMs 19000 to end/)
    // platform: false is lastcall's plain defaults.
    expect(resolve(pm2, worker, { platform: false })).toMatchObject({ readinessDelayMs: 'auto', timeoutMs: 25_000, gracePeriodMs: undefined, platformSummary: undefined })
  })

  it('rejects a platform option other than auto or false', () => {
    expect(() => resolve({}, NO_FACTS, { platform: 'docker' })).toThrow(LastcallOptionError)
    expect(() => resolve({}, NO_FACTS, { platform: 'docker' })).toThrow(/option "platform" must be 'auto' or false; received "docker"/)
  })
})

describe('ShutdownController on a platform', () => {
  function host(env: Env, f: PlatformFacts): ProcessHost & { participants: Participant[] } {
    const participants: Participant[] = []
    return {
      env, platform: 'linux', pid: 4242, nodeVersion: '20.20.2', participants,
      register: (p) => (participants.push(p), () => {}),
      finished: () => {}, started: () => {}, notifyReady: () => {}, notifyStopping: () => {}, facts: () => f, stderr: () => {},
    }
  }

  it('logs what it recognised, from what, and the grace period it assumed; nodemon’s repeated signal is passed to the coordinator', () => {
    const lines: string[] = []
    const logger: Logger = { info: (_f: unknown, m: string) => lines.push(m), warn: (_f: unknown, m: string) => lines.push(`warn ${m}`), error: () => {} }
    const h = host({ pm_id: '3', exec_mode: 'cluster_mode' }, facts({ clusterWorker: true }))
    const c = new ShutdownController({ exit: false, logger }, h)
    expect(c.options).toMatchObject({ readinessDelayMs: 0, timeoutMs: 1200 })
    expect(lines).toEqual([
      "platform: PM2 cluster mode (pm2: pm_id=3, cluster mode; cluster: a node:cluster worker); grace period 1600 ms assumed: PM2's default kill_timeout (1600 ms); " +
        'no readiness delay for a cluster worker (its primary stops handing it connections once it stops listening), timeoutMs 1200 to end before the grace period does',
    ])
    const n = new ShutdownController({ exit: false, logger }, host({}, facts({ ancestors: [nodemonParent] })))
    expect(n.options.signals).toContain('SIGUSR2')
    expect(h.participants[0]!.repeatedSignals).toEqual([])
  })

  it('says nothing when no platform is recognised', () => {
    const lines: string[] = []
    const logger: Logger = { info: (_f: unknown, m: string) => lines.push(m), warn: (_f: unknown, m: string) => lines.push(m), error: () => {} }
    new ShutdownController({ exit: false, logger }, host({}, NO_FACTS))
    expect(lines).toEqual([])
  })
})
