/**
 * systemd's readiness protocol (`Type=notify`): `READY=1` once the service
 * serves, `STOPPING=1` when its shutdown starts. A no-op unless systemd set
 * `NOTIFY_SOCKET`.
 */

import { execFile } from 'node:child_process'
import type { Log } from '../logger.js'

/** How long a `systemd-notify` call may take before it is killed and reported. */
const NOTIFY_TIMEOUT_MS = 5000

/**
 * Node's `dgram` cannot open the unix datagram socket systemd listens on,
 * so the message goes through the `systemd-notify` command (the unit needs
 * `NotifyAccess=all`, since the sender is that command's process). No shell.
 * Failures go to `log` at warn, never thrown.
 */
export function notifySystemd(env: Readonly<Record<string, string | undefined>>, message: 'READY=1' | 'STOPPING=1', log: Log | undefined): void {
  if (!env.NOTIFY_SOCKET) return
  try {
    execFile('systemd-notify', [message], { timeout: NOTIFY_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error) log?.('warn', `systemd-notify ${message} failed: ${error.message.trim()}`, { stderr: stderr.trim() || undefined })
    })
  } catch (error) {
    log?.('warn', `systemd-notify ${message} could not run: ${error instanceof Error ? error.message : String(error)}`)
  }
}
