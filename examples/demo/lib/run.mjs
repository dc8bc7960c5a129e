// One demo run: start a server in a child process, load it, SIGTERM it in the
// middle of the load, keep the load going until it exits, collect everything.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { createLoad } from './load.mjs'

/** Children still running, so an interrupted demo can kill them by pid. */
export const children = new Set()

const LISTEN_TIMEOUT_MS = 10_000
/** After SIGTERM the server gets this long to exit before it is killed. */
const EXIT_TIMEOUT_MS = 20_000
/** Requests still open this long after the server exited count as hung. */
const AFTER_EXIT_GRACE_MS = 1000

/**
 * @typedef {object} ServerLine
 * @property {number} at ms since the load started
 * @property {string} text
 */

/**
 * @param {object} options
 * @param {string} options.serverFile absolute path of the server variant
 * @param {string[]} [options.serverArgs]
 * @param {number} options.loadMs load before SIGTERM
 * @param {number} options.connections
 * @param {number} [options.seed]
 * @param {(state: { phase: string, load: ReturnType<typeof createLoad> }) => void} [options.onProgress]
 */
export async function runScenario({ serverFile, serverArgs = [], loadMs, connections, seed = 1, onProgress }) {
  // The child runs with the parent's flags (`--conditions`, `--import`), so the
  // test can run everything on source.
  const child = spawn(process.execPath, [...process.execArgv, serverFile, ...serverArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const exited = once(child, 'exit').then(([code, signal]) => {
    children.delete(child)
    return { code: /** @type {number | null} */ (code), signal: /** @type {NodeJS.Signals | null} */ (signal) }
  })
  try {
    /** @type {ServerLine[]} */
    const lines = []
    /** @type {unknown} */
    let report
    /** @type {ReturnType<typeof createLoad> | undefined} */
    let load
    const at = () => (load ? load.now() : 0)
    /** @type {(port: number) => void} */
    let gotPort = () => {}
    const listening = new Promise((resolve) => (gotPort = resolve))
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => {
      const port = /^DEMO_LISTENING (\d+)$/.exec(line)
      if (port) return gotPort(Number(port[1]))
      if (line.startsWith('LASTCALL_REPORT ')) {
        report = JSON.parse(line.slice('LASTCALL_REPORT '.length))
        return
      }
      lines.push({ at: at(), text: line })
    })
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stderr) }).on('line', (line) => lines.push({ at: at(), text: line }))

    const early = exited.then(() => { throw new Error(`server exited before listening:\n${lines.map((l) => l.text).join('\n')}`) })
    early.catch(() => {})
    const port = await within(Promise.race([listening, early]), LISTEN_TIMEOUT_MS, 'server did not listen')
    load = createLoad({ port: /** @type {number} */ (port), connections, seed })
    const progress = setInterval(() => onProgress?.({ phase: phase(), load: /** @type {ReturnType<typeof createLoad>} */ (load) }), 200)
    let sigtermAt = -1
    let exitAt = -1
    const phase = () => (exitAt >= 0 ? 'exited' : sigtermAt >= 0 ? 'shutting down' : 'serving')
    try {
      load.start()
      await new Promise((resolve) => setTimeout(resolve, loadMs))
      sigtermAt = load.now()
      child.kill('SIGTERM')
      let exit = await within(exited, EXIT_TIMEOUT_MS, null)
      const killed = exit === undefined
      if (killed && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL')
        exit = await exited
      }
      exitAt = load.now()
      await load.stop(AFTER_EXIT_GRACE_MS)
      return {
        port,
        sigtermAt,
        exitAt,
        exit: { ...exit, killedAfterMs: killed ? EXIT_TIMEOUT_MS : undefined },
        report,
        lines,
        records: load.records,
        tally: { ...load.tally },
        sent: load.sent,
      }
    } finally {
      clearInterval(progress)
      onProgress?.({ phase: 'done', load })
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
    await exited
  }
}

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string | null} message throws this on timeout; null resolves undefined instead
 * @returns {Promise<T | undefined>}
 */
async function within(promise, ms, message) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => (message === null ? resolve(undefined) : reject(new Error(`${message} within ${ms} ms`))), ms)
  })
  try {
    return /** @type {T | undefined} */ (await Promise.race([promise, timeout]))
  } finally {
    clearTimeout(timer)
  }
}
