import type { EventEmitter } from 'node:events'

/**
 * Puts `listener` first on `event`, but only while the emitter has at least
 * one other listener for it.
 *
 * Some servers behave differently depending on whether an event has
 * listeners at all, so listening unconditionally would change the
 * application:
 * - `http.Server`: with no `upgrade` listener, a request carrying
 *   `Upgrade: websocket` is an ordinary request (`request` event); with one,
 *   Node hands its socket to the `upgrade` listeners instead.
 * - `Http2Server`: the first `request` listener switches on the compatibility
 *   layer, which then builds request/response objects for every stream and
 *   answers some (CONNECT, `Expect`) by itself, even for applications that
 *   only handle `stream`.
 *
 * So the listener is prepended when the application's first listener is
 * added (`newListener` fires just before) and removed again when the
 * application's last one goes. Prepended, so it sees the event before the
 * application answers it.
 */
export function listenAlongside(emitter: EventEmitter, event: string, listener: (...args: any[]) => void): void {
  const attached = (): boolean => emitter.listeners(event).includes(listener)
  if (emitter.listenerCount(event) > 0) emitter.prependListener(event, listener)
  emitter.on('newListener', (name: string | symbol, added: unknown) => {
    if (name === event && added !== listener && !attached()) emitter.prependListener(event, listener)
  })
  emitter.on('removeListener', (name: string | symbol, removed: unknown) => {
    if (name !== event || removed === listener) return
    const rest = emitter.listeners(event)
    if (rest.length === 1 && rest[0] === listener) emitter.removeListener(event, listener)
  })
}
