import { EventEmitter } from 'node:events'
import { NO_FACTS, type PlatformFacts } from '../src/platform.js'
import type { ProcessLike } from '../src/process/signals.js'

/**
 * A process for in-process tests of the coordinator: signals are emitted by
 * hand, `exit()` is recorded instead of ending the test runner, time comes
 * from the test, and standard error is captured.
 */
export class FakeProcess extends EventEmitter implements ProcessLike {
  readonly env: Record<string, string | undefined> = {}
  readonly platform: NodeJS.Platform = 'linux'
  readonly pid = 1
  readonly nodeVersion = process.versions.node
  exitCode: number | string | null | undefined = undefined
  /** Every `exit()` call; a real process stops at the first. */
  readonly exits: number[] = []
  readonly lines: string[] = []
  #now: () => number

  constructor(now: () => number = () => 0) {
    super()
    this.#now = now
  }

  exit(code: number): void {
    if (this.exits.length === 0) this.emit('exit', code)
    this.exits.push(code)
  }

  now(): number {
    return this.#now()
  }

  facts(): PlatformFacts {
    return NO_FACTS
  }

  stderr(line: string): void {
    this.lines.push(line)
  }

  /** The code the process would have ended with: the first exit, as changed by 'exit' listeners. */
  get exitedWith(): number | undefined {
    if (this.exits.length === 0) return undefined
    return typeof this.exitCode === 'number' ? this.exitCode : this.exits[0]
  }
}
