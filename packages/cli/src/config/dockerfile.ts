import { dirname } from 'node:path'
import { graceSafetyMarginMs } from '@lastcall/core'
import { DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast'
import { normalizeSignal } from './compose.js'
import { seconds, type FindingList, type StopTiming } from './findings.js'
import type { StartCommand } from './startCommand.js'
import { checkWorkload } from './timing.js'
import type { AppSettings } from './budget.js'

/** `docker stop`'s default time before SIGKILL. */
const DOCKER_DEFAULT_GRACE_MS = 10_000

/** An instruction's exec form (a JSON array), or undefined for the shell form. */
function execForm(instruction: Instruction): string[] | undefined {
  const raw = instruction.getRawArgumentsContent()?.trim() ?? ''
  if (!raw.startsWith('[')) return undefined
  const strings = (instruction as JSONInstruction).getJSONStrings?.()
  if (strings) return strings.map((s) => s.getJSONValue())
  try {
    return JSON.parse(raw) as string[]
  } catch {
    return undefined
  }
}

/**
 * Checks the final stage of a Dockerfile: `STOPSIGNAL`, how `ENTRYPOINT` and
 * `CMD` start the app, and the grace period `ENV LASTCALL_GRACE_PERIOD_MS`
 * claims (the Dockerfile cannot set the real one: `docker run --stop-timeout`
 * and Compose's `stop_grace_period` do).
 */
export function checkDockerfile(text: string, file: string, app: AppSettings, findings: FindingList): StopTiming[] {
  const dockerfile = DockerfileParser.parse(text)
  const all = dockerfile.getInstructions()
  // The final stage: everything after the last FROM.
  let start = 0
  all.forEach((instruction, i) => {
    if (instruction.getKeyword() === 'FROM') start = i
  })
  const stage = all.slice(start)
  const last = (keyword: string): Instruction | undefined => stage.filter((i) => i.getKeyword() === keyword).at(-1)
  // What the app sees of its container (lastcall reads the cgroup and mounts; \`container\` stands in for them here).
  const env: Record<string, string | undefined> = { container: 'docker' }
  for (const instruction of stage) {
    if (instruction.getKeyword() !== 'ENV') continue
    for (const p of (instruction as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties()) {
      env[p.getName()] = p.getValue() ?? ''
    }
  }
  const where = `final stage${stage[0]?.getKeyword() === 'FROM' ? ` (FROM ${stage[0].getArgumentsContent() ?? '?'})` : ''}`
  const stopsignal = last('STOPSIGNAL')?.getArgumentsContent()
  const entrypoint = last('ENTRYPOINT')
  const cmd = last('CMD')
  let command: StartCommand | undefined
  if (entrypoint) {
    const argv = execForm(entrypoint)
    // A shell-form ENTRYPOINT ignores CMD; an exec-form one takes CMD's exec form as arguments.
    command = argv ? { argv: [...argv, ...((cmd && execForm(cmd)) ?? [])] } : { shell: entrypoint.getRawArgumentsContent()?.trim() ?? '' }
  } else if (cmd) {
    const argv = execForm(cmd)
    command = argv ? { argv } : { shell: cmd.getRawArgumentsContent()?.trim() ?? '' }
  }
  const result = checkWorkload(
    {
      kind: 'dockerfile',
      where,
      gracePeriodMs: null,
      gracePeriodFrom: 'docker run --stop-timeout',
      graceSetting: '--stop-timeout',
      graceValue: (ms) => String(Math.ceil(ms / 1000)),
      beforeSignalMs: 0,
      stopSignal: stopsignal ? normalizeSignal(stopsignal) : 'SIGTERM',
      env,
      command,
      signalsMainOnly: true,
      scriptDirs: [dirname(file)],
    },
    app,
    findings,
  )
  if (!result) return []
  const { timing, budget } = result
  const needed = timing.neededMs
  if (env.LASTCALL_GRACE_PERIOD_MS === undefined) {
    // The grace period is `docker run --stop-timeout`'s; lastcall (platform: 'auto') assumes Docker's default.
    timing.gracePeriodMs = DOCKER_DEFAULT_GRACE_MS
    timing.gracePeriodFrom = "Docker's default stop timeout, unless docker run --stop-timeout says otherwise"
    if (needed > DOCKER_DEFAULT_GRACE_MS) {
      findings.warn(
        where,
        'docker-default-grace',
        `Nothing here says the grace period: Docker's default is ${seconds(DOCKER_DEFAULT_GRACE_MS)}, shorter than readiness delay up to ${seconds(budget.readinessDelayMaxMs)} + drain ${seconds(budget.drainTimeoutMs)} + hooks ${seconds(budget.hooksMs)} + margin ${seconds(budget.marginMs)} = ${seconds(needed)}.`,
        `Run with \`docker run --stop-timeout ${Math.ceil(needed / 1000)}\` (Compose: stop_grace_period: ${Math.ceil(needed / 1000)}s) and say so with ENV LASTCALL_GRACE_PERIOD_MS=${Math.ceil(needed / 1000) * 1000}.`,
      )
    }
  } else if (budget.gracePeriodMs !== undefined) {
    timing.gracePeriodMs = budget.gracePeriodMs
    timing.gracePeriodFrom = 'ENV LASTCALL_GRACE_PERIOD_MS; docker run --stop-timeout must match'
    if (budget.gracePeriodMs < needed) {
      findings.error(
        where,
        'grace-period-short',
        `LASTCALL_GRACE_PERIOD_MS (${seconds(budget.gracePeriodMs)}) is shorter than readiness delay up to ${seconds(budget.readinessDelayMaxMs)} + drain ${seconds(budget.drainTimeoutMs)} + hooks ${seconds(budget.hooksMs)} (timeoutMs ${seconds(budget.timeoutMs)}) + margin ${seconds(budget.marginMs)} = ${seconds(needed)}.`,
        `Run with a --stop-timeout of at least ${Math.ceil(needed / 1000)} and set LASTCALL_GRACE_PERIOD_MS to match, or lower timeoutMs to at most ${budget.gracePeriodMs - graceSafetyMarginMs(budget.gracePeriodMs)} ms.`,
      )
    }
  }
  return [timing]
}
