import { EventEmitter } from 'node:events'
import type { Server } from 'node:net'
import type { ShutdownController, ShutdownOptions } from '@lastcall/core'

/**
 * What the suite hands an adapter's app: a way to report what handlers saw,
 * and a gate that `/hold` waits on.
 */
export interface AppKit {
  /** Records something a handler saw (`'hold'`, `'aborted:LASTCALL_DRAINING'`), for the suite to wait on. */
  note(event: string): void
  /** Resolves when the suite opens the current gate. */
  gate(): Promise<void>
}

/** How the suite wants the app built. */
export interface AppVariant {
  /** Serve HTTP/2 (cleartext h2c). Only asked of adapters that declare `supports.http2`. */
  http2?: boolean
  /** Serve HTTPS with the test certificate (`tlsOptions()`). Only asked of adapters that declare `supports.https`. */
  https?: boolean
  /**
   * Express and Koa: call `attach(server)` (the default). `false` leaves it
   * out to check that the middleware attaches the server on the first request.
   */
  attach?: boolean
}

/**
 * An app built by an adapter's `create()`. Routes every app must serve, with
 * the adapter installed first:
 *
 * - `GET /ok`: 200 `ok`
 * - `GET /slow?ms=N`: 200 `slow` after N ms
 * - `GET /hold`: notes `hold`, waits for `kit.gate()`, then 200 `held`
 * - `GET /signal`: notes `signal`; when the request's lastcall signal aborts, notes
 *   `aborted:<reason.code>` and answers 200 with the code as body (if it still can)
 * - `GET /hang`: notes `hang`, never answers
 * - `GET /partial`: notes `partial`, sends a 200 head and `partial\n`, never ends
 * - `GET /sse`: `text/event-stream`: `retry: 1000` and `data: hello`; when the
 *   signal aborts, `event: bye` / `data: draining` and the end of the stream
 * - `GET /stream`: notes `stream`, sends a 200 head and `part one;` at once, and
 *   `part two` and the end when the gate opens (a streaming, early-flushed response)
 * - `GET /flush`: sends a 200 head and `early;` at once, `late` and the end on the next turn
 * - `GET /download?bytes=N`: 200 with N zero bytes and a Content-Length
 * - `POST /upload`: notes `upload`, reads the body (sent as text/plain, possibly
 *   chunked) and answers 200 `received <bytes>`
 * - `GET /healthz`, `/readyz`, `/livez`, `/startupz` as *app* routes (or a
 *   middleware after the adapter) answering 418: the suite checks that the
 *   adapter's probes answer first
 */
export interface AdapterApp {
  /** The shutdown controller as the adapter exposes it (the middleware, or `app.shutdown`). */
  controller: ShutdownController
  /** The Node server the app serves on (Fastify: `app.server`). */
  server: Server
  /** Starts listening on 127.0.0.1 and `port` (default: an ephemeral one); resolves with the port. */
  listen(port?: number): Promise<number>
}

export interface AdapterUnderTest {
  /** Shown in test names: `express 5`, `fastify 5`. */
  name: string
  create(options: ShutdownOptions, kit: AppKit, variant: AppVariant): AdapterApp | Promise<AdapterApp>
  /** Absolute path of a fixture script that calls `runFixture(create)` from `@lastcall/test-kit/fixture`. */
  fixture: string
  supports?: {
    http2?: boolean
    https?: boolean
    /** The middleware attaches the server from the first request when `attach()` was forgotten. */
    autoAttach?: boolean
  }
  /** Asserts that a rejected request's body has the framework's usual error shape. */
  expectRejectedBody(body: string, contentType: string | undefined): void
  /**
   * Tests this adapter is known to fail, by name, each with the measured
   * reason (a native server's driver: what its runtime does not let it do).
   * They run as `it.fails`, like a runtime's `KNOWN_FAILURES`.
   */
  knownFailures?: Readonly<Record<string, string>>
  /**
   * Tests whose outcome depends on timing for this adapter (they fail in most
   * runs, not all), by name, each with the measured rate and reason. Reported
   * as skipped with that reason, never as passed: `it.fails` would turn red
   * on the runs that pass.
   */
  unreliable?: Readonly<Record<string, string>>
}

/** An `AppKit` whose notes are events and whose gate the test opens. */
export class TestKit extends EventEmitter implements AppKit {
  readonly notes: string[] = []
  #open!: () => void
  #gate: Promise<void>

  constructor() {
    super()
    this.#gate = this.#newGate()
  }

  note(event: string): void {
    this.notes.push(event)
    this.emit('note', event)
  }

  gate(): Promise<void> {
    return this.#gate
  }

  /** Opens the current gate (every `/hold` waiting on it answers) and sets up a new one. */
  openGate(): void {
    const open = this.#open
    this.#gate = this.#newGate()
    open()
  }

  /** Resolves once `event` has been noted `count` times in all. */
  waitNote(event: string, count = 1): Promise<void> {
    const seen = (): number => this.notes.filter((n) => n === event).length
    if (seen() >= count) return Promise.resolve()
    return new Promise((resolve) => {
      const listener = (): void => {
        if (seen() < count) return
        this.off('note', listener)
        resolve()
      }
      this.on('note', listener)
    })
  }

  #newGate(): Promise<void> {
    return new Promise((resolve) => (this.#open = resolve))
  }
}
