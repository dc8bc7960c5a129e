import type { Agent, IncomingMessage, Server } from 'node:http'
import { LastcallOptionError, type ShutdownController, type ShutdownReport } from '@lastcall/core'
import { startApp, type AppExit, type StartAppOptions } from './app.js'
import { connectionAgent, send, type RequestOutcome } from './request.js'

export interface HoldOptions {
  /**
   * Requests held in flight when the shutdown starts, each on its own keep-alive connection.
   * @default 3
   */
  hold?: number
  /**
   * A slow endpoint of the app: it must answer after a while (longer than it
   * takes to start the shutdown, shorter than the drain timeout), e.g. `/slow?ms=500`.
   * @default '/slow'
   */
  slowPath?: string
  /**
   * A held request without a full response after this long counts as `hung`.
   * @default 10000
   */
  requestTimeoutMs?: number
}

export interface DrainResult {
  /** The outcome of every held request, in the order they were sent. */
  requests: RequestOutcome[]
  /** Whether every held request completed (any status but 503). */
  allCompleted: boolean
  /** The lastcall report: from `shutdown()` in-process, or the JSON line a child printed (see `parseReport`). */
  report: ShutdownReport | undefined
  /** `phase/name` of every hook in the report, in the order they started. */
  hooks: string[]
  /** The process's exit code (a child's, or the report's in-process). `null` when a child died by a signal. */
  exitCode: number | null
  /** Milliseconds from triggering the shutdown to its end (the child's exit, or `shutdown()` resolving). */
  durationMs: number
}

export interface DrainChildOptions extends HoldOptions, StartAppOptions {
  /**
   * Bound on the wait for the app to exit after SIGTERM; then it is SIGKILLed.
   * @default 15000
   */
  exitTimeoutMs?: number
}

export interface DrainChildResult extends DrainResult {
  /** The signal that ended the app, when one did. */
  signal: NodeJS.Signals | null
  /** Whether the app had to be SIGKILLed at `exitTimeoutMs`. */
  killed: boolean
  stdout: readonly string[]
  stderr: readonly string[]
}

/**
 * Starts the app as a child process (with `PORT`), holds `hold` requests on
 * `slowPath` in flight, sends SIGTERM and collects what happened. The app is
 * always stopped, SIGKILLed at `exitTimeoutMs` if need be.
 *
 * A child process has no way to say "I am handling your request" except
 * answering, so a request counts as held once it was written to its socket
 * and a request sent after it on another connection was answered.
 */
export async function drainChild(options: DrainChildOptions): Promise<DrainChildResult> {
  const { hold = 3, slowPath = '/slow', requestTimeoutMs = 10_000, exitTimeoutMs = 15_000 } = options
  assertHold(hold, slowPath)
  const app = await startApp(options)
  const agents: Agent[] = []
  try {
    const sent: Promise<void>[] = []
    const requests: Promise<RequestOutcome>[] = []
    for (let i = 0; i < hold; i++) {
      const agent = connectionAgent()
      agents.push(agent)
      let onSent!: () => void
      sent.push(new Promise<void>((resolve) => (onSent = resolve)))
      // A request that failed before it was written counts as sent: there is nothing more to wait for.
      requests.push(send({ port: app.port, path: slowPath, agent, timeoutMs: requestTimeoutMs, onSent }).finally(onSent))
    }
    await Promise.all(sent)
    // A round trip on a connection opened after the held ones: the app has read them by the time it answers.
    await send({ port: app.port, path: app.readiness.path, timeoutMs: requestTimeoutMs })
    const t0 = performance.now()
    const stopped = app.stop({ signal: 'SIGTERM', graceMs: exitTimeoutMs })
    const exit: AppExit & { killed: boolean } = await stopped
    const durationMs = Math.round(performance.now() - t0)
    const outcomes = await Promise.all(requests)
    const report = app.report()
    return {
      requests: outcomes,
      allCompleted: outcomes.every((o) => o.kind === 'completed'),
      report,
      hooks: hookOrder(report),
      exitCode: exit.code,
      signal: exit.signal,
      killed: exit.killed,
      durationMs,
      stdout: app.stdout,
      stderr: app.stderr,
    }
  } finally {
    for (const agent of agents) agent.destroy()
    await app.stop({ signal: 'SIGKILL', graceMs: 1000 })
  }
}

export interface DrainInProcessOptions extends HoldOptions {
  /** The controller; it must not exit the process (`exit: false` or a function). */
  controller: ShutdownController
  /** A server attached to `controller` and listening on a TCP port. */
  server: Server
}

/**
 * Holds `hold` requests on `slowPath` in flight against a server in this
 * process, calls `controller.shutdown()` once the server has received all
 * of them (its `request` events), and collects what happened.
 */
export async function drainInProcess(options: DrainInProcessOptions): Promise<DrainResult> {
  const { controller, server, hold = 3, slowPath = '/slow', requestTimeoutMs = 10_000 } = options
  assertHold(hold, slowPath)
  if (controller.options.exit === true) {
    throw new LastcallOptionError('controller', 'a controller with exit: true', 'a controller created with exit: false (or an exit function), or the test process would exit')
  }
  const address = server.address()
  if (!server.listening || address === null || typeof address !== 'object') {
    throw new LastcallOptionError('server', address, 'a server listening on a TCP port')
  }
  const target = slowPath.split('?')[0]
  let seen = 0
  let allSeen!: () => void
  const received = new Promise<void>((resolve) => (allSeen = resolve))
  const onRequest = (req: IncomingMessage): void => {
    if (req.url?.split('?')[0] === target && ++seen === hold) allSeen()
  }
  server.on('request', onRequest)
  const agents: Agent[] = []
  try {
    const requests: Promise<RequestOutcome>[] = []
    for (let i = 0; i < hold; i++) {
      const agent = connectionAgent()
      agents.push(agent)
      requests.push(send({ port: address.port, path: slowPath, agent, timeoutMs: requestTimeoutMs }))
    }
    // Either the server saw every request, or some already failed: go on either way, bounded by the requests' own timeout.
    await Promise.race([received, Promise.all(requests)])
    const t0 = performance.now()
    const report = await controller.shutdown('drain test')
    const durationMs = Math.round(performance.now() - t0)
    const outcomes = await Promise.all(requests)
    return {
      requests: outcomes,
      allCompleted: outcomes.every((o) => o.kind === 'completed'),
      report,
      hooks: hookOrder(report),
      exitCode: report.exitCode,
      durationMs,
    }
  } finally {
    server.off('request', onRequest)
    for (const agent of agents) agent.destroy()
  }
}

function assertHold(hold: unknown, slowPath: unknown): void {
  if (!Number.isInteger(hold) || (hold as number) < 1 || (hold as number) > 1000) throw new LastcallOptionError('hold', hold, 'an integer from 1 to 1000')
  if (typeof slowPath !== 'string' || !slowPath.startsWith('/')) throw new LastcallOptionError('slowPath', slowPath, 'a path starting with "/"')
}

function hookOrder(report: ShutdownReport | undefined): string[] {
  if (!report) return []
  return [...report.hooks].sort((a, b) => a.startMs - b.startMs).map((h) => `${h.phase}/${h.name}`)
}
