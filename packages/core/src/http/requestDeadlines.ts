import type { Clock, TimerHandle } from '../clock.js'
import { requestKey } from './http2Sessions.js'

interface RequestDeadline {
  readonly controller: AbortController
  readonly signal: AbortSignal
  readonly timer: TimerHandle
}

/**
 * The per-request deadline (`requestTimeoutMs`): a timer and a signal for
 * each request, keyed by the request (HTTP/1.1) or the stream (HTTP/2), and
 * the signal a handler follows. With no `requestTimeoutMs` there are none,
 * and every request follows the drain signal.
 */
export class RequestDeadlines {
  readonly #clock: Clock
  readonly #ms: number | undefined
  readonly #drainSignal: AbortSignal
  readonly #deadlines = new WeakMap<object, RequestDeadline>()

  constructor(clock: Clock, ms: number | undefined, drainSignal: AbortSignal) {
    this.#clock = clock
    this.#ms = ms
    this.#drainSignal = drainSignal
  }

  /**
   * The signal a handler should follow: it aborts when the drain starts, or
   * when the request passes `requestTimeoutMs`. Takes an `http` request, an
   * HTTP/2 compatibility request or an HTTP/2 stream.
   */
  signalFor(req: object): AbortSignal {
    if (this.#ms === undefined) return this.#drainSignal
    return this.#deadlines.get(requestKey(req))?.signal ?? this.#drainSignal
  }

  /** Starts the deadline of `key` (with `requestTimeoutMs` only): `expire` runs when it passes. */
  start(key: object, expire: (controller: AbortController) => void): void {
    const ms = this.#ms
    if (ms === undefined) return
    const controller = new AbortController()
    const timer = this.#clock.setTimeout(() => expire(controller), ms)
    this.#deadlines.set(key, { controller, timer, signal: AbortSignal.any([controller.signal, this.#drainSignal]) })
  }

  /** The request of `key` is over: its timer goes. */
  clear(key: object): void {
    if (this.#ms === undefined) return
    const deadline = this.#deadlines.get(key)
    if (deadline !== undefined) this.#clock.clearTimeout(deadline.timer)
  }
}
