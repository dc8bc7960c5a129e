import { describe, expect, it } from 'vitest'
import { stopBunListener } from '../src/http/stopBunListener.js'

/**
 * What lastcall does when Bun's internals are not as measured. The real
 * thing, on Bun, is stopBunListener.bun.test.ts; here the server is a stand-in
 * object shaped like Bun's (1.4: its native server under a symbol described
 * '::bunternal::', whose `closeIdleConnections()` `close()` calls before `stop()`).
 */
const NATIVE = Symbol('::bunternal::')

class NativeStandIn {
  calls: string[] = []
  closeIdleConnections(): number {
    this.calls.push('closeIdleConnections')
    return 1
  }
  stop(): void {
    this.calls.push('stop')
  }
}

function bunLikeServer(native: NativeStandIn, { sweeps = true } = {}) {
  const server = {
    [NATIVE]: native as NativeStandIn | undefined,
    closed: 0,
    close() {
      this.closed++
      const handle = this[NATIVE]!
      this[NATIVE] = undefined
      if (sweeps) handle.closeIdleConnections()
      handle.stop()
    },
  }
  return server
}

describe('stopBunListener', () => {
  it("stops the server through its own close() with the native server's idle sweep turned off for that call only", () => {
    const native = new NativeStandIn()
    const server = bunLikeServer(native)
    expect(stopBunListener(server)).toBeUndefined()
    expect(server.closed).toBe(1)
    // The sweep was asked for and did nothing; stop() ran.
    expect(native.calls).toEqual(['stop'])
    // The instance is as it was: the next closeIdleConnections() is Bun's own again.
    expect(Object.getOwnPropertyNames(native)).toEqual(['calls'])
    native.closeIdleConnections()
    expect(native.calls).toEqual(['stop', 'closeIdleConnections'])
  })

  it('restores the instance when close() throws, and lets the error through', () => {
    const native = new NativeStandIn()
    const server = {
      [NATIVE]: native,
      close() {
        throw new Error('close broke')
      },
    }
    expect(() => stopBunListener(server)).toThrow('close broke')
    expect(Object.getOwnPropertyNames(native)).toEqual(['calls'])
  })

  it('falls back to plain close() and says why when there is no native server', () => {
    let closed = 0
    const note = stopBunListener({ close: () => closed++ })
    expect(closed).toBe(1)
    expect(note).toMatch(/no Bun native server \(::bunternal::\).*may close idle keep-alive connections/)
  })

  it('falls back to plain close() and says why when the native server will not take the override', () => {
    const native = Object.freeze(new NativeStandIn())
    const server = bunLikeServer(native)
    const note = stopBunListener(server)
    expect(server.closed).toBe(1)
    expect(native.calls).toEqual(['closeIdleConnections', 'stop'])
    expect(note).toMatch(/would not take a closeIdleConnections/)
  })

  it("says so when Bun's close() no longer goes through closeIdleConnections", () => {
    const native = new NativeStandIn()
    const server = bunLikeServer(native, { sweeps: false })
    const note = stopBunListener(server)
    expect(server.closed).toBe(1)
    expect(note).toMatch(/did not call its native server's closeIdleConnections/)
    expect(Object.getOwnPropertyNames(native)).toEqual(['calls'])
  })
})
