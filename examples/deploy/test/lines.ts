import type { Readable } from 'node:stream'
import { createInterface } from 'node:readline'

/** Every line a stream printed (parsed; lines `parse` returns undefined for are left out), and a wait for one. */
export interface LineLog<T> {
  readonly all: T[]
  /** Resolves with the first entry, already seen or still to come, that matches. */
  next(match: (entry: T) => boolean): Promise<T>
}

/** Follows a child's output line by line: the tests wait on what it prints, never on time. */
export function lineLog<T = string>(stream: Readable, parse: (line: string) => T | undefined = (line) => line as T): LineLog<T> {
  const all: T[] = []
  const waiters: Array<[(entry: T) => boolean, (entry: T) => void]> = []
  createInterface({ input: stream }).on('line', (line) => {
    const entry = parse(line)
    if (entry === undefined) return
    all.push(entry)
    for (const w of [...waiters]) {
      if (!w[0](entry)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w[1](entry)
    }
  })
  return {
    all,
    next: (match) => {
      const found = all.find(match)
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push([match, resolve]))
    },
  }
}
