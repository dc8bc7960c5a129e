import WebSocket from 'ws'

export interface WebSocketResult {
  /** The close code the client saw (1001: going away; 1006: dropped without a close frame); `null` if it never closed. */
  closeCode: number | null
  reason: string
  /** Set when the WebSocket could not be opened. */
  error?: string
}

/**
 * Opens one WebSocket and reports how it ends: closed by the server with a
 * code, dropped, or still open when the app exited or `timeoutMs` passed.
 */
export async function watchWebSocket(options: { port: number; path: string; exited: Promise<unknown>; timeoutMs: number }): Promise<WebSocketResult> {
  const { port, path, exited, timeoutMs } = options
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { 'user-agent': 'lastcall-check' } })
  let opened = false
  let timer: NodeJS.Timeout | undefined
  try {
    return await new Promise<WebSocketResult>((resolve) => {
      socket.once('open', () => (opened = true))
      socket.once('error', (error) => {
        if (!opened) resolve({ closeCode: null, reason: '', error: error.message })
      })
      socket.once('close', (code, reason) => resolve(opened ? { closeCode: code, reason: reason.toString() } : { closeCode: null, reason: '', error: `closed before opening (${code})` }))
      // Once the app has exited, the socket's close follows within moments; a second at most.
      void exited.then(() => {
        clearTimeout(timer)
        timer = setTimeout(() => resolve({ closeCode: null, reason: '' }), 1000)
      })
      timer = setTimeout(() => resolve({ closeCode: null, reason: '' }), timeoutMs)
    })
  } finally {
    clearTimeout(timer)
    socket.terminate()
  }
}
