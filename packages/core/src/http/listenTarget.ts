/**
 * Where a server should listen so that a restart on the same port refuses
 * no connection: the listening socket a socket-activating manager handed
 * over (systemd's `LISTEN_FDS` protocol, `systemd-socket-activate`, any
 * holder that keeps the socket open across restarts), else the port asked
 * for, optionally with `reusePort` so the next process can bind the port
 * before this one closes it.
 *
 * Reading the environment and the pid goes through the `ProcessHost`, like
 * every other contact with `process`.
 */
import type { ListenOptions } from 'node:net'
import { LastcallOptionError } from '../errors.js'
import { processHost } from '../process/signals.js'
import { assertKnownKeys } from '../validate.js'

/** The first file descriptor of the `LISTEN_FDS` protocol (0, 1, 2 are stdio). */
export const LISTEN_FDS_START = 3

/** Sockets handed over through `LISTEN_FDS`, in order, each with its name from `LISTEN_FDNAMES`. */
export interface InheritedSocket {
  fd: number
  /** The name from `LISTEN_FDNAMES` (systemd's `FileDescriptorName=`), or `'unknown'`, systemd's own default. */
  name: string
}

/**
 * The sockets a manager passed to this process: none unless `LISTEN_PID` is
 * this process's pid (the variables are inherited by every child; only the
 * process they were meant for may take the sockets) and `LISTEN_FDS` is a
 * positive count.
 */
export function inheritedSockets(env: Readonly<Record<string, string | undefined>>, pid: number): InheritedSocket[] {
  const count = env.LISTEN_FDS?.trim()
  if (count === undefined || !/^\d+$/.test(count) || Number(count) === 0) return []
  if (env.LISTEN_PID?.trim() !== String(pid)) return []
  const names = env.LISTEN_FDNAMES?.split(':') ?? []
  return Array.from({ length: Number(count) }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] || 'unknown' }))
}

/**
 * What `listenTarget()` returns, for `server.listen()`: an inherited socket
 * (`{ fd }`), or the port or `net.ListenOptions` it was given.
 */
export type ListenTarget = number | ListenOptions | { fd: number }

export interface ListenTargetOptions {
  /**
   * Which inherited socket to take, by its `LISTEN_FDNAMES` name
   * (`FileDescriptorName=` in the `.socket` unit), when several are passed.
   * @default undefined (the first one, fd 3)
   */
  name?: string
  /**
   * When no socket is inherited: listen with `reusePort`, so a new process
   * can bind the same port before this one closes its listener, and the
   * kernel spreads connections across both. Needs Node ≥ 22.12 (or 23.1) on
   * Linux; elsewhere `listenTarget()` throws, since a second process would
   * get EADDRINUSE. Set `net.ipv4.tcp_migrate_req=1` where you use it: without
   * it, the kernel resets the connections still waiting in a listener's
   * accept queue when that listener closes (see `docs/platforms.md`).
   * @default false
   */
  reusePort?: boolean
  /** Environment to read `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES` from. For tests. @default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** This process's pid, compared with `LISTEN_PID`. For tests. @default process.pid */
  pid?: number
  /** The running Node version, for the `reusePort` check. For tests. @default process.versions.node */
  nodeVersion?: string
  /** The platform, for the `reusePort` check. For tests. @default process.platform */
  platform?: string
}

const KNOWN_KEYS = new Set(['name', 'reusePort', 'env', 'pid', 'nodeVersion', 'platform'])

/** Whether `server.listen({ reusePort: true })` works on this Node and platform. */
export function supportsReusePort(nodeVersion: string, platform: string): boolean {
  if (platform !== 'linux' && platform !== 'freebsd') return false
  const [major = 0, minor = 0] = nodeVersion.replace(/^v/, '').split('.').map(Number)
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
}

/**
 * What to hand to `server.listen()`: `{ fd: 3 }` (or the named inherited
 * socket) when a socket-activating manager passed one to this process,
 * else `target`, a port or `net.ListenOptions`, with `reusePort: true` when
 * asked. `server.listen(listenTarget(3000), callback)` works both ways.
 *
 * An inherited socket stays open in the manager (systemd, a holder process)
 * while this process restarts: connections that arrive meanwhile wait in the
 * kernel's queue for the next process instead of being refused. Throws
 * `LastcallOptionError` for a `name` that was not passed, or `reusePort` on a
 * runtime without it.
 */
export function listenTarget(target: number | ListenOptions, options: ListenTargetOptions = {}): ListenTarget {
  if (typeof options !== 'object' || options === null) throw new LastcallOptionError('options', options, 'an object or undefined')
  assertKnownKeys('', options, KNOWN_KEYS)
  const isPort = typeof target === 'number' && Number.isInteger(target) && target >= 0 && target <= 65535
  if (!isPort && (typeof target !== 'object' || target === null || Array.isArray(target))) {
    throw new LastcallOptionError('listenTarget(target)', target, 'a port (an integer from 0 to 65535) or net.ListenOptions')
  }
  if (options.name !== undefined && typeof options.name !== 'string') throw new LastcallOptionError('name', options.name, 'a string')
  if (options.reusePort !== undefined && typeof options.reusePort !== 'boolean') throw new LastcallOptionError('reusePort', options.reusePort, 'a boolean')
  const host = processHost()
  const sockets = inheritedSockets(options.env ?? host.env, options.pid ?? host.pid)
  if (sockets.length > 0) {
    const socket = options.name === undefined ? sockets[0]! : sockets.find((s) => s.name === options.name)
    if (!socket) throw new LastcallOptionError('name', options.name, `one of the inherited sockets' names (${sockets.map((s) => s.name).join(', ')})`)
    return { fd: socket.fd }
  }
  if (options.reusePort !== true) return target
  const nodeVersion = options.nodeVersion ?? host.nodeVersion
  const platform = options.platform ?? host.platform
  if (!supportsReusePort(nodeVersion, platform)) {
    throw new LastcallOptionError('reusePort', true, `false on Node ${nodeVersion} (${platform}): reusePort needs Node ≥ 22.12 on Linux or FreeBSD`)
  }
  // @types/node for Node 20 does not know reusePort yet.
  return { ...(typeof target === 'number' ? { port: target } : target), reusePort: true } as ListenOptions
}
