import type { CheckResult, Finding } from './result.js'

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** Turns what was measured into failures (the check fails) and warnings. */
export function verdict(r: CheckResult, o: { requestTimeoutMs: number; exitTimeoutMs: number; requireReadiness: boolean }): { failures: Finding[]; warnings: Finding[] } {
  const failures: Finding[] = []
  const warnings: Finding[] = []
  const k = r.requests.byKind
  if (r.sigtermAtMs === null && r.startupMs !== null) {
    failures.push({
      code: 'exited-early',
      message: `The app exited before SIGTERM was sent (code ${r.exit.code}, signal ${r.exit.signal}).`,
      fix: 'Look at its stderr below; the check needs the app to keep running under load until it is told to stop.',
    })
  }
  if (k['reset-reused'] > 0) {
    failures.push({
      code: 'reset-reused',
      message: `${plural(k['reset-reused'], 'request')} reset on reused keep-alive connections: the server closed connections while clients were sending on them (the keep-alive race).`,
      fix: 'Close idle keep-alive connections only after a linger and answer the last requests with `Connection: close` (lastcall\'s drain does both); never rely on server.close() alone.',
    })
  }
  if (k['reset-new'] > 0) {
    failures.push({
      code: 'reset-new',
      message: `${plural(k['reset-new'], 'request')} reset on new connections: the process exited or destroyed connections with requests in flight.`,
      fix: 'On SIGTERM, stop accepting and wait for in-flight requests before exiting; do not call process.exit() from the signal handler (lastcall drains, then exits).',
    })
  }
  if (k.hung > 0) {
    failures.push({
      code: 'hung',
      message: `${plural(k.hung, 'request')} got no answer within ${o.requestTimeoutMs} ms.`,
      fix: 'Bound every handler: give requests a deadline (lastcall\'s requestTimeoutMs, or follow controller.signalFor(req)) so a stuck request is answered or cut, and cannot hold the shutdown.',
    })
  }
  if (r.exit.killed) {
    failures.push({
      code: 'killed',
      message: `The app did not exit within ${o.exitTimeoutMs} ms of SIGTERM and was killed (SIGKILL), as Kubernetes does after terminationGracePeriodSeconds.`,
      fix: 'Bound the whole shutdown (lastcall\'s timeoutMs) and close or destroy what keeps the event loop alive: lingering keep-alive connections, timers, database pools.',
    })
  } else if (r.sigtermAtMs !== null && r.exit.code !== null && r.exit.code !== 0) {
    failures.push({
      code: 'exit-code',
      message: `The app exited with code ${r.exit.code} after SIGTERM: it reports a failed shutdown.`,
      fix: 'See its output (a lastcall app logs which hook failed or what was cut off); fix that, or raise the timeout it hit.',
    })
  } else if (r.sigtermAtMs !== null && r.exit.signal === 'SIGTERM') {
    warnings.push({
      code: 'no-handler',
      message: 'The app has no SIGTERM handler: it died from the signal at once.',
      fix: 'Handle SIGTERM (createShutdown() does) so in-flight work can finish; a process killed by a signal also exits with 143, which some platforms report as a crash.',
    })
  }
  if (r.sigtermAtMs !== null && o.requireReadiness) {
    const closed = r.readiness.listenerClosedAfterMs
    const closedText = closed === null ? 'never closed while probed' : `closed ${closed} ms after SIGTERM`
    if (!r.readiness.endpoint) {
      failures.push({
        code: 'no-readiness',
        message: `No readiness endpoint at the readiness path (it answered 404); the listener ${closedText}, so a balancer learns of the shutdown only from refused connections.`,
        fix: 'Serve a readiness endpoint that fails as soon as SIGTERM arrives and keep serving for a delay before closing the listener (lastcall serves /readyz and waits readinessDelayMs); or pass --ready-path, or --no-readiness when no balancer probes the app.',
      })
    } else if (r.readiness.failedBeforeClose === false) {
      failures.push({
        code: 'readiness-late',
        message: `${r.readiness.path} still passed when the listener ${closedText}: a balancer kept routing new connections here until they were refused.`,
        fix: 'Fail readiness at SIGTERM and keep serving for a readiness delay before closing the listener (lastcall\'s readinessDelayMs).',
      })
    }
  }
  if (r.requests.rejectedWithoutRetryAfter > 0) {
    warnings.push({
      code: 'no-retry-after',
      message: `${plural(r.requests.rejectedWithoutRetryAfter, 'response')} 503 without Retry-After.`,
      fix: 'Send Retry-After with a 503 during shutdown so clients and balancers retry elsewhere (lastcall does).',
    })
  }
  const h2 = r.http2
  if (h2?.error) warnings.push({ code: 'http2', message: `HTTP/2 could not be checked: ${h2.error}.`, fix: 'Run without --http2 if the app does not serve cleartext HTTP/2 (h2c) on its port.' })
  else if (h2 && h2.byKind['reset-reused'] + h2.byKind['reset-new'] + h2.byKind.hung > 0) {
    const reset = h2.byKind['reset-reused'] + h2.byKind['reset-new']
    failures.push({
      code: 'http2-reset',
      message: `${plural(reset, 'HTTP/2 stream')} reset and ${h2.byKind.hung} hung${h2.goaway ? '' : '; the app never sent GOAWAY'}.`,
      fix: h2.goaway
        ? 'Let streams in flight at the GOAWAY finish before the process exits, and bound handlers so none hangs (lastcall waits for them up to drainTimeoutMs).'
        : 'Send GOAWAY to every HTTP/2 session when the drain starts and exit only after their streams finished (lastcall does both; Http2Server.close() alone sends no GOAWAY and waits for sessions without limit).',
    })
  }
  const ws = r.ws
  if (ws?.error) warnings.push({ code: 'ws', message: `The WebSocket could not be opened: ${ws.error}.`, fix: 'Pass --ws <path> with a path the app upgrades, or leave --ws out.' })
  else if (ws && ws.closeCode !== 1000 && ws.closeCode !== 1001 && ws.closeCode !== 1012) {
    failures.push({
      code: 'ws-dropped',
      message: ws.closeCode === null
        ? 'The WebSocket was still open when the check ended.'
        : r.exit.killed
          ? `The WebSocket was never closed: it stayed open until the app was SIGKILLed (code ${ws.closeCode}); server.close() waits for upgraded sockets without limit.`
          : `The WebSocket was dropped without a close frame (code ${ws.closeCode}): the process exited or destroyed the socket.`,
      fix: 'Close WebSockets with 1001 (going away) when the drain starts, so clients reconnect elsewhere (lastcall tracks and closes them).',
    })
  }
  return { failures, warnings }
}
