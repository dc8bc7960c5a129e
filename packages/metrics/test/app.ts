import { createServer, request, type Agent, type Server } from 'node:http'
import { createShutdown, type ShutdownController, type ShutdownOptions } from '@lastcall/core'
import { listen } from '@lastcall/test-utils'

export interface Reply { status: number; body: string }

/** One request to 127.0.0.1; resolves with the reply or rejects with the socket error. */
export function get(port: number, path: string, { agent, method = 'GET' }: { agent?: Agent | false; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

export { listen }

export interface App {
  shutdown: ShutdownController
  server: Server
  port: number
  /** Resolves when `count` requests to /held and /hang have arrived in total. */
  arrived(count: number): Promise<void>
  /** Answers the oldest /held request still waiting. */
  release(): void
  close(): void
}

/**
 * A lastcall-controlled server whose `/held` requests stay in flight until
 * the test releases them (no timers), `/hang` never answers, anything else
 * answers at once.
 */
export async function startApp(options: ShutdownOptions = {}): Promise<App> {
  const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 0, ...options })
  const held: Array<() => void> = []
  let total = 0
  const waiting: Array<{ count: number; resolve: () => void }> = []
  const server = shutdown.attach(
    createServer(
      shutdown.handler((req, res) => {
        if (req.url === '/held' || req.url === '/hang') {
          if (req.url === '/held') held.push(() => res.end('released'))
          total++
          for (const w of [...waiting]) {
            if (total < w.count) continue
            waiting.splice(waiting.indexOf(w), 1)
            w.resolve()
          }
          return
        }
        res.end('ok')
      }),
    ),
  )
  const port = await listen(server)
  return {
    shutdown, server, port,
    arrived: (count) => (total >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve }))),
    release: () => held.shift()?.(),
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
