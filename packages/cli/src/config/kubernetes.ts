import { seconds, type FindingList, type StopTiming } from './findings.js'
import { splitWords } from './startCommand.js'
import { checkWorkload } from './timing.js'
import type { AppSettings } from './budget.js'

/** Workload kinds whose pod template is at `spec.template.spec`; a Pod's spec is its own `spec`. */
const TEMPLATED = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'])

/** Kubernetes' defaults for a pod and a probe (the API's, documented with each field). */
const K8S_DEFAULTS = { terminationGracePeriodSeconds: 30, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 }

type Obj = Record<string, any>

/** Whether a parsed YAML document is a Kubernetes object this check reads. */
export function isKubernetesObject(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && typeof (doc as Obj).kind === 'string' && typeof (doc as Obj).apiVersion === 'string'
}

/**
 * Checks every container of every Deployment, StatefulSet, DaemonSet,
 * ReplicaSet and Pod in the documents: the grace period against preStop plus
 * lastcall's shutdown, the readiness probe's detection time against the
 * readiness delay, the start command.
 */
export function checkKubernetes(docs: readonly unknown[], app: AppSettings, findings: FindingList, scriptDirs: readonly string[]): StopTiming[] {
  const timings: StopTiming[] = []
  for (const doc of docs) {
    if (!isKubernetesObject(doc)) continue
    const o = doc as Obj
    const pod: Obj | undefined = TEMPLATED.has(o.kind) ? o.spec?.template?.spec : o.kind === 'Pod' ? o.spec : undefined
    if (!pod) continue
    const name = `${o.kind}/${o.metadata?.name ?? '?'}`
    const graceSeconds = pod.terminationGracePeriodSeconds ?? K8S_DEFAULTS.terminationGracePeriodSeconds
    for (const container of (pod.containers ?? []) as Obj[]) {
      const where = `${name} container ${container.name ?? '?'}`
      const env: Record<string, string | undefined> = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }
      for (const e of (container.env ?? []) as Obj[]) {
        if (typeof e.name !== 'string') continue
        if (e.value !== undefined) env[e.name] = String(e.value)
        else if (e.valueFrom !== undefined && /^LASTCALL_/.test(e.name)) {
          findings.warn(where, 'env-unknown', `${e.name} comes from valueFrom, which this check cannot read; it is left out.`, 'Give it a literal value, or check the rendered manifest.')
        }
      }
      const preStop = preStopMs(container.lifecycle?.preStop)
      if (preStop.unknown) findings.warn(where, 'prestop-unknown', `The preStop hook (${preStop.unknown}) takes a time this check cannot know; it counts as 0 s.`, 'Use `sleep: { seconds: N }` or `exec: { command: ["sleep", "N"] }`, whose time is known.')
      // Without `command` the image's ENTRYPOINT runs, which the Dockerfile check sees.
      const command = Array.isArray(container.command) ? { argv: [...container.command, ...(container.args ?? [])].map(String) } : undefined
      const result = checkWorkload(
        {
          kind: 'kubernetes',
          where,
          gracePeriodMs: graceSeconds * 1000,
          gracePeriodFrom: pod.terminationGracePeriodSeconds === undefined ? 'terminationGracePeriodSeconds (default 30)' : `terminationGracePeriodSeconds: ${graceSeconds}`,
          graceSetting: 'terminationGracePeriodSeconds',
          graceValue: (ms) => String(Math.ceil(ms / 1000)),
          beforeSignalMs: preStop.ms,
          // The kubelet sends the image's STOPSIGNAL (SIGTERM unless the image says otherwise).
          stopSignal: 'SIGTERM',
          env,
          command,
          signalsMainOnly: true,
          scriptDirs,
        },
        app,
        findings,
      )
      if (!result) continue
      const { timing, budget } = result
      const probe = container.readinessProbe as Obj | undefined
      if (!probe) {
        findings.warn(where, 'no-readiness-probe', 'No readinessProbe: whatever routes by readiness (ingress controllers and cloud balancers that health-check the pod) keeps routing here until the listener closes.', 'Add a readinessProbe on lastcall\'s readiness endpoint (/readyz by default), periodSeconds 2 and failureThreshold 1 or so.')
      } else {
        const period = probe.periodSeconds ?? K8S_DEFAULTS.periodSeconds
        const threshold = probe.failureThreshold ?? K8S_DEFAULTS.failureThreshold
        const timeout = probe.timeoutSeconds ?? K8S_DEFAULTS.timeoutSeconds
        const detection = (period * threshold + timeout) * 1000
        timing.probeDetectionMs = detection
        if (budget.readinessDelayMaxMs < detection) {
          const delay = budget.readinessDelayMinMs === budget.readinessDelayMaxMs ? `readiness delay (${seconds(budget.readinessDelayMaxMs)})` : `longest readiness delay (readinessDelayMaxMs ${seconds(budget.readinessDelayMaxMs)})`
          findings.error(
            where,
            'readiness-delay-short',
            `The readinessProbe needs up to ${seconds(detection)} to see readiness fail (periodSeconds ${period} × failureThreshold ${threshold} + timeoutSeconds ${timeout}), longer than lastcall's ${delay}: the listener closes while whatever follows readiness still routes here.`,
            `Probe faster (e.g. periodSeconds: 2, failureThreshold: 1: ${seconds(3000)}), or raise readinessDelayMaxMs (readinessDelayMs for a fixed delay) to at least ${detection}.`,
          )
        }
      }
      timings.push(timing)
    }
  }
  return timings
}

/** The time a preStop hook takes, when it can be known: `sleep`, or an exec of `sleep N`. */
function preStopMs(preStop: Obj | undefined): { ms: number; unknown?: string } {
  if (!preStop) return { ms: 0 }
  if (preStop.sleep) return { ms: Number(preStop.sleep.seconds ?? 0) * 1000 }
  if (preStop.exec?.command) {
    const argv = (preStop.exec.command as unknown[]).map(String)
    const words = argv.length >= 3 && /(^|\/)(ba|da)?sh$/.test(argv[0]!) && argv[1] === '-c' ? splitWords(argv[2]!) : argv
    const sleeps = [...words.entries()].filter(([i, w]) => /(^|\/)sleep$/.test(w) && /^\d+(\.\d+)?s?$/.test(words[i + 1] ?? ''))
    const other = words.filter((w) => !/(^|\/)sleep$/.test(w) && !/^\d+(\.\d+)?s?$/.test(w) && !['&&', ';'].includes(w))
    if (sleeps.length > 0 && other.length === 0) return { ms: sleeps.reduce((sum, [i]) => sum + parseFloat(words[i + 1]!) * 1000, 0) }
    return { ms: 0, unknown: `exec ${argv.join(' ')}` }
  }
  if (preStop.httpGet) return { ms: 0, unknown: `httpGet ${preStop.httpGet.path ?? '/'}` }
  return { ms: 0, unknown: Object.keys(preStop).join(', ') }
}
