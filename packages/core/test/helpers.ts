import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** Whether the request went out on a connection the agent had used before. */
  reused: boolean
}

export type Outcome = { ok: true; reply: Reply } | { ok: false; code: string; reused: boolean }

/** One HTTP request; resolves with the reply or with the error's code (never rejects). */
export function send(
  port: number,
  path: string,
  { agent, method = 'GET', body, secure = false, headers = {} }: { agent?: Agent | false; method?: string; body?: string | undefined; secure?: boolean; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const make = secure ? httpsRequest : httpRequest
    const req = make({ host: '127.0.0.1', port, path, method, agent, headers, rejectUnauthorized: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, body: text, reused: req.reusedSocket } }))
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket }))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, reused: req.reusedSocket }))
    req.end(body)
  })
}

export function keepAliveAgent(secure = false, maxSockets = 8): Agent {
  return secure ? new HttpsAgent({ keepAlive: true, maxSockets, rejectUnauthorized: false }) : new Agent({ keepAlive: true, maxSockets })
}

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

export interface Fixture {
  child: ChildProcess
  ports: number[]
  /** Every JSON line the child printed so far. */
  events: Array<Record<string, any>>
  /** Resolves with the first event (past or future) that matches. */
  waitFor(predicate: (event: Record<string, any>) => boolean): Promise<Record<string, any>>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr(): string
  kill(): void
}

const fixtureDir = join(import.meta.dirname, 'fixtures')

/**
 * Forks a fixture app (TypeScript, run through tsx on the source condition)
 * and resolves once it listens. The caller must `kill()` it in a `finally`.
 */
export async function startFixture(file: string, config: unknown, { waitListening = true } = {}): Promise<Fixture> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lastcall/source', join(fixtureDir, file)], {
    env: { ...process.env, LASTCALL_FIXTURE: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: Array<Record<string, any>> = []
  const waiters: Array<{ predicate: (e: Record<string, any>) => boolean; resolve: (e: Record<string, any>) => void }> = []
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: Record<string, any>
    try {
      event = JSON.parse(line) as Record<string, any>
    } catch {
      return
    }
    events.push(event)
    for (const w of [...waiters]) {
      if (w.predicate(event)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(event)
      }
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const waitFor = (predicate: (e: Record<string, any>) => boolean): Promise<Record<string, any>> => {
    const found = events.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve })
      exited.then(() => setImmediate(() => reject(new Error(`fixture exited before the awaited event; stderr:\n${stderr}`))))
    })
  }
  const fixture: Fixture = {
    child, events, waitFor, exited, ports: [],
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
    },
  }
  if (waitListening) {
    try {
      const listening = await waitFor((e) => e.event === 'listening')
      fixture.ports = listening.ports as number[]
    } catch (error) {
      fixture.kill()
      throw error
    }
  }
  return fixture
}
