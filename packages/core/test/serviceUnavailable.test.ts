import { describe, expect, it } from 'vitest'
import type { ServerResponse } from 'node:http'
import { rawUnavailable, RETRY_AFTER_SECONDS, sendUnavailable, unavailableHeaders, unavailableResponse } from '../src/http/serviceUnavailable.js'

function recorder() {
  const sent: { status?: number; headers?: Record<string, string>; body?: string } = {}
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      Object.assign(sent, { status, headers })
    },
    end(body: string) {
      sent.body = body
    },
  }
  return { res: res as unknown as ServerResponse, sent }
}

describe('sendUnavailable', () => {
  it('answers 503 with Retry-After, Connection: close and the reason in plain text', () => {
    const { res, sent } = recorder()
    sendUnavailable(res, 'shutting-down')
    expect(sent).toEqual({
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' },
      body: 'Service Unavailable: shutting down\n',
    })
    const deadline = recorder()
    sendUnavailable(deadline.res, 'deadline')
    expect(deadline.sent.body).toBe('Service Unavailable: request deadline passed\n')
  })
})

describe('rawUnavailable', () => {
  it('is the same 503 written by hand for a socket taken over by upgrade, its Content-Length in bytes', () => {
    expect(rawUnavailable('shutting-down')).toBe(
      'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 34\r\n\r\nService Unavailable: shutting down',
    )
  })
})

describe('unavailableResponse', () => {
  it('is the same 503 as a fetch Response: status, headers and body per reason', async () => {
    const res = unavailableResponse('shutting-down')
    expect(res.status).toBe(503)
    expect(Object.fromEntries(res.headers)).toEqual({ 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' })
    expect(await res.text()).toBe('Service Unavailable: shutting down\n')
    expect(await unavailableResponse('deadline').text()).toBe('Service Unavailable: request deadline passed\n')
  })

  it('has no Connection header for HTTP/2, where connection-specific headers are illegal', () => {
    expect(unavailableResponse('shutting-down', { http2: true }).headers.has('connection')).toBe(false)
    expect(unavailableHeaders(true)).not.toHaveProperty('Connection')
  })
})
