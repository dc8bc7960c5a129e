// Client side of the scale benchmarks, in its own process so that the
// process timing the server's exit stays idle while thousands of sockets
// close.
//
//   node clients.mjs <port> <idle> <slow> <slowMs> <maxSeconds>
//
// Opens <idle> keep-alive connections, each sends `GET /` and reads its
// response, then stays idle; then sends <slow> `GET /slow?ms=<slowMs>`, one
// per connection. Prints JSON lines:
//   {"idleReady": n, "ms": opening time, "nofile"}
//   {"slowSent": n}
//   {"done": true, ...}  when every socket has closed (the server's drain closes them)
// Exits after <maxSeconds> whatever happens (the caller also stops it by pid).
import { writeSync } from 'node:fs'
import net from 'node:net'
import { openFilesLimit } from './limits.mjs'

const [port, idleArg, slowArg, slowMsArg, maxArg = '120'] = process.argv.slice(2).map(Number)
const line = (value) => writeSync(1, `${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`)
const now = () => process.hrtime.bigint()

const deadline = setTimeout(() => {
  line({ done: false, reason: `still open after ${maxArg} s`, open })
  process.exit(1)
}, maxArg * 1000)
deadline.unref()

let open = 0
let errors = 0
let lastClose = 0n
const slowResults = []
let finishing = false

/** One request on a new connection; resolves with the socket once the response has arrived. */
function request(path, onResponse) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let buffer = ''
    let answered = false
    open++
    socket.setEncoding('latin1')
    socket.once('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`))
    socket.on('data', (chunk) => {
      if (answered) return
      buffer += chunk
      const head = buffer.indexOf('\r\n\r\n')
      if (head === -1) return
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.slice(0, head))?.[1] ?? 0)
      if (buffer.length < head + 4 + length) return
      answered = true
      onResponse?.({ status: Number(buffer.slice(9, 12)), t: now(), connectionClose: /\r\nconnection:\s*close/i.test(buffer.slice(0, head)) })
      resolve(socket)
    })
    socket.once('error', (error) => {
      errors++
      if (!answered) reject(error)
    })
    socket.once('close', () => {
      open--
      lastClose = now()
      if (!answered) reject(new Error(`${path}: closed before the response`))
      maybeDone()
    })
  })
}

function maybeDone() {
  if (!finishing || open > 0) return
  line({ done: true, slow: slowResults, lastClose, errors })
  process.exit(0)
}

const started = performance.now()
const concurrency = 256
let next = 0
async function worker() {
  while (next < idleArg) {
    next++
    await request('/')
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, idleArg) }, worker))
line({ idleReady: idleArg, ms: Math.round(performance.now() - started), nofile: openFilesLimit(), errors })

for (let i = 0; i < slowArg; i++) {
  request(`/slow?ms=${slowMsArg}`, (r) => slowResults.push(r)).catch(() => {})
}
line({ slowSent: slowArg })
finishing = true
maybeDone()
