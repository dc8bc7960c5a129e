// HAProxy for the benchmark: Debian's package, a config written to a temp
// dir, started in the foreground, logging to stdout, with its runtime API on a
// unix socket (server states, enabling spare slots).
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** Installs HAProxy with apt when it is missing (Debian, as root). Returns its version line. */
export function ensureHaproxy() {
  try {
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0] ?? ''
  } catch {
    console.error('[bench] haproxy not found: installing it with apt-get (Debian, needs root)')
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
    execFileSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0] ?? ''
  }
}

/**
 * @typedef {object} HaproxyConfig
 * @property {string} dir
 * @property {number} frontendPort
 * @property {{ name: string, port: number, enabled: boolean }[]} slots
 * @property {string} inter e.g. '2s'
 * @property {number} fall
 */

/** @param {HaproxyConfig} c */
export function renderConfig(c) {
  return `# Written by bench/rolling-restart/run.mjs
global
  log stdout format raw local0
  stats socket ${join(c.dir, 'admin.sock')} mode 600 level admin
  maxconn 8192

defaults
  mode http
  log global
  option httplog
  # Log only requests that went wrong (and every server state change).
  option dontlog-normal
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout check 2s
  # No retries of any kind: every failure reaches the client and is counted.
  retries 0

frontend fe
  bind 127.0.0.1:${c.frontendPort}
  default_backend be

backend be
  balance roundrobin
  # Keep-alive to the backends, connections shared between client requests.
  http-reuse safe
  option httpchk GET /readyz
  http-check expect status 200
  # rise 1 only shortens the wait for a replacement; inter and fall decide
  # how long a failing server keeps getting traffic.
  default-server check inter ${c.inter} fall ${c.fall} rise 1
${c.slots.map((s) => `  server ${s.name} 127.0.0.1:${s.port}${s.enabled ? '' : ' disabled'}`).join('\n')}
`
}

/**
 * Starts HAProxy in the foreground. `events` gets a record for every server
 * state change HAProxy logs; `errors` every request it logged as failed.
 * @param {HaproxyConfig} config
 * @param {() => number} now
 */
export async function startHaproxy(config, now) {
  const file = join(config.dir, 'haproxy.cfg')
  writeFileSync(file, renderConfig(config))
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  /** @type {{ t: number, slot: string, state: 'UP' | 'DOWN', line: string }[]} */
  const events = []
  /** @type {{ t: number, line: string }[]} */
  const errors = []
  /** @type {string[]} */
  const stderr = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const state = /Server be\/(s\d+) is (UP|DOWN)/.exec(line)
    if (state) events.push({ t: now(), slot: /** @type {string} */ (state[1]), state: /** @type {'UP' | 'DOWN'} */ (state[2]), line })
    else if (/ fe be\//.test(line) || / fe fe\//.test(line)) errors.push({ t: now(), line })
  })
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line))
  const exited = once(child, 'exit')
  const api = (/** @type {string} */ command) => runtimeApi(join(config.dir, 'admin.sock'), command)
  // The socket appears once HAProxy has parsed its config and bound.
  for (let i = 0; ; i++) {
    try {
      await api('show info')
      break
    } catch (error) {
      if (child.exitCode !== null || i >= 100) throw new Error(`haproxy did not start: ${stderr.join('\n')}`, { cause: error })
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    pid: child.pid,
    events,
    errors,
    api,
    /** Status of every server: { s1: 'UP', s4: 'MAINT', ... } */
    async states() {
      const csv = await api('show stat')
      const [header, ...rows] = csv.trim().split('\n')
      const cols = (header ?? '').replace(/^# /, '').split(',')
      const name = cols.indexOf('svname')
      const status = cols.indexOf('status')
      /** @type {Record<string, string>} */
      const out = {}
      for (const row of rows) {
        const f = row.split(',')
        if (f[0] === 'be' && f[name] !== 'BACKEND') out[/** @type {string} */ (f[name])] = /** @type {string} */ (f[status])
      }
      return out
    },
    /**
     * Waits until HAProxy reports the server UP (checked every 50 ms, bounded).
     * @param {string} slot
     * @param {number} timeoutMs
     */
    async waitUp(slot, timeoutMs) {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        const s = (await this.states())[slot] ?? ''
        if (s.startsWith('UP') && !s.includes('/')) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`haproxy did not mark ${slot} UP within ${timeoutMs} ms`)
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
      await exited
    },
  }
}

/**
 * One command on HAProxy's runtime API; resolves with its answer.
 * @param {string} path
 * @param {string} command
 * @returns {Promise<string>}
 */
function runtimeApi(path, command) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let out = ''
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.end(`${command}\n`))
    socket.on('data', (chunk) => (out += chunk))
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
    socket.setTimeout(2000, () => socket.destroy(new Error(`runtime API "${command}" timed out`)))
  })
}
