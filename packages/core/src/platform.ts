/**
 * Where the process runs, read from what the platform tells it, and the
 * defaults that follow. A process cannot see the platform's grace period or
 * whether a balancer sits in front, but the platform leaves traces: an
 * environment variable, a file, the cgroup it was put in, the process that
 * started it. `detectPlatform()` reads those traces (handed in as
 * `PlatformFacts`, gathered by `process/signals.ts`, so this module is pure and
 * tested in-process); `platformDefaults()` turns the result into the
 * defaults the controller uses where the user set nothing.
 * `docs/platforms.md` has the table.
 */

import { graceSafetyMarginMs } from './graceMargin.js'

/** Every platform lastcall recognises. */
export type PlatformName = 'kubernetes' | 'container' | 'pm2' | 'cluster' | 'systemd' | 'nodemon' | 'node-watch'

/** What the process can find out about where it runs, gathered once per process. */
export interface PlatformFacts {
  /** `cluster.isWorker`: a `node:cluster` worker (PM2's cluster mode included). */
  readonly clusterWorker: boolean
  /** Which of `/.dockerenv` and `/run/.containerenv` exist. */
  readonly files: { readonly dockerenv: boolean; readonly containerenv: boolean }
  /** `/proc/self/cgroup` (and `/proc/1/cgroup`), when readable. */
  readonly cgroup: string | undefined
  /** `/proc/self/mountinfo`, when readable. */
  readonly mountinfo: string | undefined
  /** The argument vectors of the parent and the grandparent process, nearest first, when readable (Linux). */
  readonly ancestors: readonly (readonly string[])[]
}

/** No facts: what a host that cannot read any reports. */
export const NO_FACTS: PlatformFacts = Object.freeze({ clusterWorker: false, files: { dockerenv: false, containerenv: false }, cgroup: undefined, mountinfo: undefined, ancestors: [] })

/** A grace period: how long the platform waits between its stop signal and SIGKILL. */
export interface GracePeriod {
  ms: number
  /** Where the number comes from, for the log: "PM2 kill_timeout", "Docker's default stop timeout (10 s)". */
  source: string
  /** `true` when it is the platform's documented default rather than a value it told the process. */
  assumed: boolean
}

export interface DetectedPlatform {
  /** The platform whose rules apply (the most specific layer: a dev watcher, then PM2, a cluster worker, Kubernetes, systemd, a container). */
  name: PlatformName | 'none'
  /** For people: "PM2 cluster mode", "Kubernetes". */
  label: string
  /** Every layer recognised. */
  layers: PlatformName[]
  /** Every layer recognised, each with what said so. */
  evidence: string[]
  /** A `node:cluster` worker (PM2 cluster mode included): its primary hands it connections. */
  clusterWorker: boolean
  /** A development file watcher restarts the process. */
  dev: boolean
  /**
   * The listening socket is inherited (`LISTEN_FDS`: systemd socket
   * activation or a holder process): it outlives this process, so
   * connections wait in its queue for the next one instead of being refused.
   */
  socketActivated: boolean
  /** The shortest grace period among the layers that can kill the process, when one is known or assumed. */
  grace: GracePeriod | undefined
  /** Signals this platform sends that lastcall's defaults (SIGTERM, SIGINT) do not include. */
  extraSignals: NodeJS.Signals[]
  /** Signals the platform sends twice for one stop (nodemon): a repeat during the shutdown is not the operator's second signal. */
  repeatedSignals: NodeJS.Signals[]
}

/** What `platform: false`, or a process with no trace of a platform, gets. */
export const NO_PLATFORM: DetectedPlatform = Object.freeze({
  name: 'none', label: 'no platform recognised', layers: [], evidence: [], clusterWorker: false, dev: false, socketActivated: false, grace: undefined, extraSignals: [], repeatedSignals: [],
})

/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const KUBERNETES_GRACE_MS = 30_000
/** Docker's (and Podman's) default stop timeout. */
export const CONTAINER_GRACE_MS = 10_000
/** PM2's default `kill_timeout`. */
export const PM2_GRACE_MS = 1_600
/** systemd's default `DefaultTimeoutStopSec`. */
export const SYSTEMD_GRACE_MS = 90_000

/**
 * A container's cgroup: Docker (`/docker/<id>`, `docker-<id>.scope`), Podman
 * (`libpod-<id>`), CRI-O (`crio-<id>`), containerd under Kubernetes
 * (`cri-containerd-<id>`, `kubepods`), LXC. An id is required: a process on a
 * Docker host can sit in `docker.service` without being in a container.
 */
const CONTAINER_CGROUP = /(?:\/|^)(docker|libpod|crio|cri-containerd)[-/][0-9a-f]{12,}|(kubepods)|\/(lxc)\//
/** Runtimes named by the root filesystem or the /etc/hostname bind mount of a container. */
const CONTAINER_RUNTIME = /\b(docker|containerd|kubelet|libpod|containers\/storage)\b/
/** A Docker- or Podman-style per-container folder (`…/containers/<64 hex>/hostname`), whatever the data root is called. */
const CONTAINER_FOLDER = /\/containers\/(?:storage\/overlay-containers\/)?[0-9a-f]{64}\//
/** The mounts a runtime sets up for every container. Others are no evidence: a Docker host lists its containers' mounts too. */
const CONTAINER_MOUNT_POINTS = new Set(['/', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf'])

/**
 * Reads the platform from the environment and the facts. Pure: everything
 * it looks at is handed in.
 */
export function detectPlatform(env: Readonly<Record<string, string | undefined>>, facts: PlatformFacts): DetectedPlatform {
  const evidence: string[] = []
  const graces: GracePeriod[] = []
  const extraSignals: NodeJS.Signals[] = []
  const repeatedSignals: NodeJS.Signals[] = []
  const layers = new Set<PlatformName>()
  const has = (name: string): boolean => env[name] !== undefined && env[name] !== ''

  if (has('KUBERNETES_SERVICE_HOST')) {
    layers.add('kubernetes')
    evidence.push('kubernetes: KUBERNETES_SERVICE_HOST is set')
    graces.push({ ms: KUBERNETES_GRACE_MS, source: "Kubernetes' default terminationGracePeriodSeconds (30 s)", assumed: true })
  }

  const container = containerEvidence(env, facts)
  if (container !== undefined) {
    layers.add('container')
    evidence.push(`container: ${container}`)
    // Under Kubernetes the pod's grace period applies, not Docker's.
    if (!layers.has('kubernetes')) graces.push({ ms: CONTAINER_GRACE_MS, source: "Docker's default stop timeout (10 s)", assumed: true })
  }

  if (has('pm_id')) {
    layers.add('pm2')
    const mode = env.exec_mode === 'cluster_mode' ? 'cluster mode' : 'fork mode'
    evidence.push(`pm2: pm_id=${env.pm_id}, ${mode}`)
    const kill = env.kill_timeout?.trim()
    if (kill !== undefined && /^\d+$/.test(kill) && Number(kill) > 0) graces.push({ ms: Number(kill), source: 'PM2 kill_timeout', assumed: false })
    else graces.push({ ms: PM2_GRACE_MS, source: "PM2's default kill_timeout (1600 ms)", assumed: true })
  }
  const clusterWorker = facts.clusterWorker || env.exec_mode === 'cluster_mode'
  if (clusterWorker) {
    layers.add('cluster')
    evidence.push(`cluster: ${facts.clusterWorker ? 'a node:cluster worker' : 'exec_mode=cluster_mode'}`)
  }

  const systemd = ['INVOCATION_ID', 'NOTIFY_SOCKET', 'LISTEN_FDS'].filter(has)
  if (systemd.length > 0) {
    layers.add('systemd')
    evidence.push(`systemd: ${systemd.join(', ')} set`)
    graces.push({ ms: SYSTEMD_GRACE_MS, source: "systemd's default TimeoutStopSec (90 s)", assumed: true })
  }

  const nodemon = facts.ancestors.find(isNodemon)
  if (nodemon !== undefined) {
    layers.add('nodemon')
    const signal = optionValue(nodemon, ['--signal', '-s']) ?? 'SIGUSR2'
    evidence.push(`nodemon: started by ${nodemon.slice(0, 2).join(' ')}; restarts with ${signal}`)
    if (isSignalName(signal)) {
      extraSignals.push(signal)
      repeatedSignals.push(signal)
    }
  }
  // Node's watch mode sets this in the child it restarts (its way of asking for the loaded files).
  if (env.WATCH_REPORT_DEPENDENCIES !== undefined) {
    layers.add('node-watch')
    const watcher = facts.ancestors.find((argv) => argv.some((a) => a === '--watch' || a.startsWith('--watch=') || a.startsWith('--watch-path')))
    const signal = (watcher && optionValue(watcher, ['--watch-kill-signal'])) ?? 'SIGTERM'
    evidence.push(`node --watch: WATCH_REPORT_DEPENDENCIES is set; restarts with ${signal}`)
    if (isSignalName(signal)) extraSignals.push(signal)
  }

  const order: PlatformName[] = ['nodemon', 'node-watch', 'pm2', 'cluster', 'kubernetes', 'systemd', 'container']
  const name = order.find((n) => layers.has(n)) ?? 'none'
  const grace = graces.reduce<GracePeriod | undefined>((shortest, g) => (shortest === undefined || g.ms < shortest.ms ? g : shortest), undefined)
  return {
    name,
    label: LABELS[name === 'pm2' && clusterWorker ? 'pm2-cluster' : name],
    layers: order.filter((n) => layers.has(n)),
    evidence,
    clusterWorker,
    dev: layers.has('nodemon') || layers.has('node-watch'),
    socketActivated: /^[1-9]\d*$/.test(env.LISTEN_FDS?.trim() ?? ''),
    grace,
    extraSignals: [...new Set(extraSignals)].filter((s) => s !== 'SIGTERM' && s !== 'SIGINT'),
    repeatedSignals,
  }
}

const LABELS: Record<PlatformName | 'none' | 'pm2-cluster', string> = {
  kubernetes: 'Kubernetes',
  container: 'a container',
  pm2: 'PM2 fork mode',
  'pm2-cluster': 'PM2 cluster mode',
  cluster: 'a node:cluster worker',
  systemd: 'systemd',
  nodemon: 'nodemon',
  'node-watch': 'node --watch',
  none: 'no platform recognised',
}

/**
 * What says the process runs in a container, or undefined. `/.dockerenv`
 * alone is not enough: a virtual machine whose disk was made from a
 * container image keeps the file (these machines do), and there nothing
 * ever sends Docker's stop signal.
 */
function containerEvidence(env: Readonly<Record<string, string | undefined>>, facts: PlatformFacts): string | undefined {
  if (env.container !== undefined && env.container !== '') return `container=${env.container}`
  if (facts.files.containerenv) return '/run/.containerenv exists'
  const cgroup = facts.cgroup && CONTAINER_CGROUP.exec(facts.cgroup)
  if (cgroup) return `the cgroup names ${cgroup[1] ?? cgroup[2] ?? cgroup[3]}`
  for (const line of facts.mountinfo?.split('\n') ?? []) {
    // "id parent major:minor root mount-point options … - fstype source super-options"
    const fields = line.split(' ')
    const mountPoint = fields[4]
    if (mountPoint === undefined || !CONTAINER_MOUNT_POINTS.has(mountPoint)) continue
    const runtime = CONTAINER_RUNTIME.exec(line)
    if (runtime) return `${mountPoint} is mounted from ${runtime[1]}`
    if (CONTAINER_FOLDER.test(line)) return `${mountPoint} is mounted from a per-container folder`
  }
  return undefined
}

function isNodemon(argv: readonly string[]): boolean {
  // `node …/nodemon/bin/nodemon.js app.js` (the npm bin shim resolves to it), or a `nodemon` executable.
  return argv.slice(0, 2).some((a) => /(^|\/)nodemon(\.js)?$/.test(a))
}

function optionValue(argv: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    for (const name of names) {
      if (a === name) return argv[i + 1]
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1)
    }
  }
  return undefined
}

function isSignalName(value: string): value is NodeJS.Signals {
  return /^SIG[A-Z0-9]+$/.test(value) && value !== 'SIGKILL' && value !== 'SIGSTOP'
}

/** A dev restart: nothing to wait for, a short drain, a bound well under a developer's patience. */
export const DEV_DRAIN_TIMEOUT_MS = 1_000
export const DEV_TIMEOUT_MS = 3_000
/** lastcall's own defaults, which the platform's choices replace. */
const LIBRARY_TIMEOUT_MS = 25_000
const LIBRARY_LINGER_MS = 250
const LIBRARY_BOUND_MS = 10_000

/** The options the platform fills in; the subset of `ShutdownOptions` it touches. */
export interface PlatformTunable {
  readinessDelayMs?: number | 'auto'
  readinessDelayMinMs?: number
  readinessDelayMaxMs?: number
  drainTimeoutMs?: number
  timeoutMs?: number
  idleLingerMs?: number
  signals?: readonly string[]
}

/**
 * The policy: returns `options` with the platform's defaults filled in where
 * the user left an option out. `resolveOptions` then derives the rest as it
 * does for any explicit `timeoutMs` (the automatic delay's maximum is a
 * quarter of it, the drain half of what the delay leaves).
 *
 * - A grace period bounds the shutdown: the one the user gave
 *   (`gracePeriodMs`, `LASTCALL_GRACE_PERIOD_MS`), else the one the platform
 *   told (PM2's `kill_timeout`) or is assumed to have (its default). When
 *   lastcall's default `timeoutMs` does not fit, it becomes the grace period
 *   minus `graceSafetyMarginMs()` of it, so the process exits by itself,
 *   before SIGKILL. An explicit `timeoutMs` is never changed: the
 *   grace-period check warns when it does not fit.
 * - A cluster worker (Node's or PM2's) gets no readiness delay: its primary
 *   stops handing it connections the moment it stops listening, and nothing
 *   watches its readiness. Not under Kubernetes, where the pod as a whole
 *   leaves the Service's endpoints and that takes seconds to propagate.
 * - An inherited listening socket (`LISTEN_FDS`, systemd socket activation
 *   or a holder that restarts the process): no readiness delay either. The
 *   socket stays open in its holder, so connections that arrive while no
 *   process accepts wait in its queue instead of being refused; waiting for a
 *   balancer would only make each restart slower (12.1 s against 1.9 s
 *   measured with direct clients, `docs/platforms.md`).
 * - A dev watcher's restart: no delay, a 1 s drain, 3 s in all.
 * - The platform's own stop signal (nodemon's SIGUSR2) is handled.
 *
 * A platform default that would contradict an option the user set is left
 * out: the user's options always hold (and the grace-period check warns).
 */
export function applyPlatformDefaults<O extends PlatformTunable>(
  options: O,
  p: DetectedPlatform,
  { givenGraceMs, defaultSignals }: { givenGraceMs: number | undefined; defaultSignals: readonly string[] },
): { options: O; reasons: string[] } {
  const out: O = { ...options }
  const reasons: string[] = []
  const delayFree = options.readinessDelayMs === undefined && options.readinessDelayMinMs === undefined && options.readinessDelayMaxMs === undefined
  if (p.dev || ((p.clusterWorker || p.socketActivated) && !p.layers.includes('kubernetes'))) {
    if (delayFree) {
      out.readinessDelayMs = 0
      reasons.push(
        p.dev ? 'no readiness delay for a dev restart'
          : p.clusterWorker ? 'no readiness delay for a cluster worker (its primary stops handing it connections once it stops listening)'
            : 'no readiness delay for an inherited socket (LISTEN_FDS: connections wait in its queue for the next process, none is refused)',
      )
    }
  }
  let timeout: number | undefined
  if (p.dev) {
    timeout = DEV_TIMEOUT_MS
    if (options.drainTimeoutMs === undefined) out.drainTimeoutMs = DEV_DRAIN_TIMEOUT_MS
  }
  const grace = givenGraceMs ?? p.grace?.ms
  if (grace !== undefined) {
    // The margin is room for the exit and the platform's own delays (see graceSafetyMarginMs).
    const fitted = Math.max(grace - graceSafetyMarginMs(grace), 1)
    if (fitted < (timeout ?? LIBRARY_TIMEOUT_MS)) timeout = fitted
  }
  if (timeout !== undefined && options.timeoutMs === undefined) {
    const delay = out.readinessDelayMs === undefined || out.readinessDelayMs === 'auto' ? (options.readinessDelayMaxMs ?? Math.min(LIBRARY_BOUND_MS, Math.floor(timeout / 4))) : out.readinessDelayMs
    // Options the user set that do not fit: theirs hold, the platform's bound is dropped.
    if (delay + (options.drainTimeoutMs ?? 0) <= timeout) {
      out.timeoutMs = timeout
      const drain = out.drainTimeoutMs ?? Math.min(LIBRARY_BOUND_MS, Math.floor((timeout - delay) / 2))
      reasons.push(p.dev ? `drainTimeoutMs ${out.drainTimeoutMs ?? options.drainTimeoutMs}, timeoutMs ${timeout} for a dev restart` : `timeoutMs ${timeout} to end before the grace period does`)
      // An idle keep-alive connection must get its linger and still close before the drain's deadline.
      if (options.idleLingerMs === undefined && drain < 2 * LIBRARY_LINGER_MS) {
        out.idleLingerMs = Math.floor(drain / 2)
        reasons.push(`idleLingerMs ${out.idleLingerMs} to fit a ${drain} ms drain`)
      }
    } else {
      reasons.push(`timeoutMs left to the options given (readiness delay ${delay} + drainTimeoutMs ${options.drainTimeoutMs} exceed ${timeout})`)
    }
  }
  if (options.signals === undefined && p.extraSignals.length > 0) {
    out.signals = [...defaultSignals, ...p.extraSignals.filter((s) => !defaultSignals.includes(s))]
    reasons.push(`also handles ${p.extraSignals.join(', ')}`)
  }
  return { options: out, reasons }
}

/**
 * The line logged at creation: what was recognised, from what, and what
 * follows. Undefined when nothing was recognised and a grace period given changed nothing.
 */
export function describePlatform(p: DetectedPlatform, givenGraceMs: number | undefined, choices: readonly string[]): string | undefined {
  if (p.name === 'none') return choices.length > 0 && givenGraceMs !== undefined ? `grace period ${givenGraceMs} ms as given; ${choices.join(', ')}` : undefined
  const parts = [`platform: ${p.label} (${p.evidence.join('; ')})`]
  if (givenGraceMs !== undefined) parts.push(p.grace === undefined ? `grace period ${givenGraceMs} ms as given` : `grace period ${givenGraceMs} ms as given, not ${p.grace.source}`)
  else if (p.grace === undefined) parts.push('no grace period known')
  else parts.push(`grace period ${p.grace.ms} ms ${p.grace.assumed ? 'assumed' : 'read'}: ${p.grace.source}`)
  parts.push(choices.length > 0 ? choices.join(', ') : "lastcall's defaults apply")
  return parts.join('; ')
}
