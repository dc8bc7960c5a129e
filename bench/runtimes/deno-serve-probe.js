/* global Deno */
// The Deno.serve server deno-serve-facts.mjs measures, on Deno only. Commands
// come on stdin, one a line: `shutdown` (server.shutdown()), `abort` (aborts
// the AbortSignal given as Deno.serve's `signal` option), `release` (answers
// every /hold waiting). Everything it sees goes to stdout as JSON lines.
const log = (event) => console.log(JSON.stringify({ ...event, t: Math.round(performance.now()) }))
const abort = new AbortController()
let release
let gate = new Promise((resolve) => (release = resolve))
const server = Deno.serve({ port: 0, hostname: '127.0.0.1', signal: abort.signal, onListen: ({ port }) => log({ event: 'listening', port }) }, async (req, info) => {
  const path = new URL(req.url).pathname
  const remote = info.remoteAddr.port
  log({ event: 'request', path, remote })
  req.signal.addEventListener('abort', () => log({ event: 'request-aborted', path, remote }))
  info.completed.then(() => log({ event: 'completed', path, remote }), (error) => log({ event: 'completed-rejected', path, remote, error: String(error) }))
  if (path === '/hold') {
    await gate
    return new Response('held')
  }
  if (path === '/close') return new Response('ok', { headers: { connection: 'close' } })
  return new Response('ok')
})
server.finished.then(() => log({ event: 'finished' }), (error) => log({ event: 'finished-rejected', error: String(error) }))
const decoder = new TextDecoder()
let buffer = ''
for await (const chunk of Deno.stdin.readable) {
  buffer += decoder.decode(chunk)
  let at
  while ((at = buffer.indexOf('\n')) !== -1) {
    const command = buffer.slice(0, at)
    buffer = buffer.slice(at + 1)
    log({ event: 'command', command })
    if (command === 'shutdown') server.shutdown().then(() => log({ event: 'shutdown-resolved' }))
    else if (command === 'abort') abort.abort()
    else if (command === 'release') {
      release()
      gate = new Promise((resolve) => (release = resolve))
    }
  }
}
