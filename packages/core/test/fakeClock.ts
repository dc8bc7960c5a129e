import type { Clock } from '../src/index.js'

/** A clock the test moves by hand. Timers fire in order as time advances. */
export class FakeClock implements Clock {
  #now = 0
  #seq = 0
  readonly #timers = new Map<number, { at: number; fn: () => void }>()

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.#seq
    this.#timers.set(id, { at: this.#now + ms, fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** Timers set and not fired or cleared yet. */
  pending(): number {
    return this.#timers.size
  }

  /** Moves time forward to `now + ms`, firing due timers one by one and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms
    for (;;) {
      await settle()
      let nextId: number | undefined
      let nextAt = Infinity
      for (const [id, t] of this.#timers) if (t.at <= target && t.at < nextAt) [nextId, nextAt] = [id, t.at]
      if (nextId === undefined) break
      const timer = this.#timers.get(nextId)!
      this.#timers.delete(nextId)
      this.#now = Math.max(this.#now, timer.at)
      timer.fn()
    }
    this.#now = target
    await settle()
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
