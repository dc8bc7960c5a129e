import { once } from 'node:events'
import { createServer, Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { inheritedSockets, listenTarget, LastcallOptionError, supportsReusePort } from '../src/index.js'

const pid = 4242

describe('inheritedSockets', () => {
  it('lists fd 3 onwards with their names when LISTEN_PID is this process', () => {
    expect(inheritedSockets({ LISTEN_FDS: '2', LISTEN_PID: '4242', LISTEN_FDNAMES: 'http:admin' }, pid)).toEqual([
      { fd: 3, name: 'http' },
      { fd: 4, name: 'admin' },
    ])
    expect(inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '4242' }, pid)).toEqual([{ fd: 3, name: 'unknown' }])
  })

  it('takes nothing meant for another process, or without LISTEN_PID, or with a malformed count', () => {
    expect(inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '1' }, pid)).toEqual([])
    expect(inheritedSockets({ LISTEN_FDS: '1' }, pid)).toEqual([])
    expect(inheritedSockets({ LISTEN_FDS: 'x', LISTEN_PID: '4242' }, pid)).toEqual([])
    expect(inheritedSockets({ LISTEN_FDS: '0', LISTEN_PID: '4242' }, pid)).toEqual([])
    expect(inheritedSockets({}, pid)).toEqual([])
  })
})

describe('listenTarget', () => {
  it('returns the inherited socket when there is one, by name when asked', () => {
    const env = { LISTEN_FDS: '2', LISTEN_PID: '4242', LISTEN_FDNAMES: 'http:admin' }
    expect(listenTarget(3000, { env, pid })).toEqual({ fd: 3 })
    expect(listenTarget({ port: 3000, host: '0.0.0.0' }, { env, pid, name: 'admin' })).toEqual({ fd: 4 })
    expect(() => listenTarget(3000, { env, pid, name: 'metrics' })).toThrow(/one of the inherited sockets' names \(http, admin\)/)
  })

  it('returns the port or options unchanged without one', () => {
    expect(listenTarget(3000, { env: {}, pid })).toBe(3000)
    const options = { port: 3000, host: '127.0.0.1' }
    expect(listenTarget(options, { env: { LISTEN_FDS: '1', LISTEN_PID: '1' }, pid })).toBe(options)
  })

  it('adds reusePort where the runtime has it and throws where it does not', () => {
    expect(listenTarget(3000, { env: {}, pid, reusePort: true, nodeVersion: '22.12.0', platform: 'linux' })).toEqual({ port: 3000, reusePort: true })
    expect(listenTarget({ port: 0, host: '::1' }, { env: {}, pid, reusePort: true, nodeVersion: '24.0.0', platform: 'linux' })).toEqual({ port: 0, host: '::1', reusePort: true })
    const error = (() => {
      try {
        listenTarget(3000, { env: {}, pid, reusePort: true, nodeVersion: '20.20.2', platform: 'linux' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(LastcallOptionError)
    expect((error as Error).message).toMatch(/reusePort needs Node ≥ 22\.12 on Linux or FreeBSD/)
    // An inherited socket wins: the manager already holds the port.
    expect(listenTarget(3000, { env: { LISTEN_FDS: '1', LISTEN_PID: '4242' }, pid, reusePort: true, nodeVersion: '20.0.0' })).toEqual({ fd: 3 })
  })

  it('rejects what server.listen would not take, and unknown options', () => {
    expect(() => listenTarget(-1)).toThrow(LastcallOptionError)
    expect(() => listenTarget('3000' as never)).toThrow(/a port \(an integer from 0 to 65535\) or net.ListenOptions/)
    expect(() => listenTarget(3000, { reusePort: 'yes' as never })).toThrow(/"reusePort" must be a boolean/)
    expect(() => listenTarget(3000, { fd: 3 } as never)).toThrow(/"fd" must be one of the known options/)
  })

  it('is what server.listen takes, on this process (no LISTEN_FDS here)', async () => {
    const server: Server = createServer()
    server.listen(listenTarget({ port: 0, host: '127.0.0.1' }))
    await once(server, 'listening')
    expect(server.address()).toMatchObject({ address: '127.0.0.1' })
    server.close()
  })
})

describe('supportsReusePort', () => {
  it('knows the versions that shipped it', () => {
    expect(supportsReusePort('22.11.0', 'linux')).toBe(false)
    expect(supportsReusePort('22.12.0', 'linux')).toBe(true)
    expect(supportsReusePort('23.0.0', 'linux')).toBe(false)
    expect(supportsReusePort('23.1.0', 'linux')).toBe(true)
    expect(supportsReusePort('26.1.0', 'linux')).toBe(true)
    expect(supportsReusePort('24.0.0', 'darwin')).toBe(false)
  })
})
