// Prints, as one JSON line, which version-dependent node:http facts that touch
// a drain this runtime has. Run by run.mjs on every runtime; plain JavaScript
// so that Node, Bun and Deno run it as it is.
import { channel } from 'node:diagnostics_channel'
import { createServer, request } from 'node:http'
import { createServer as createH2Server, connect } from 'node:http2'

const facts = {}
const server = createServer((req, res) => res.end('ok'))
facts.keepAliveTimeoutBuffer = server.keepAliveTimeoutBuffer ?? null

// diagnostics_channel: which server-side channels publish for one request.
const seen = new Set()
const names = ['http.server.request.start', 'http.server.response.created', 'http.server.response.finish', 'http2.server.stream.created', 'http2.server.stream.start', 'http2.server.stream.finish', 'http2.server.stream.close']
for (const name of names) channel(name).subscribe(() => seen.add(name))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const port = server.address().port
// The agent option: Node's client drops a free socket this long before the server's Keep-Alive hint.
await new Promise((resolve, reject) => request({ port, host: '127.0.0.1', agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject).end())
server.closeAllConnections?.()
await new Promise((resolve) => server.close(resolve))

try {
  const h2 = createH2Server((req, res) => res.end('ok'))
  await new Promise((resolve) => h2.listen(0, '127.0.0.1', resolve))
  const session = connect(`http://127.0.0.1:${h2.address().port}`)
  await new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/' })
    stream.on('error', reject).resume().on('end', resolve)
  })
  session.close()
  await new Promise((resolve) => h2.close(resolve))
} catch (error) {
  facts.http2Error = String(error?.message ?? error)
}
facts.channels = names.filter((n) => seen.has(n))

// reusePort: two listeners on one port.
try {
  const a = createServer()
  const b = createServer()
  await new Promise((resolve, reject) => a.once('error', reject).listen({ port: 0, host: '127.0.0.1', reusePort: true }, resolve))
  const shared = a.address().port
  facts.reusePort = await new Promise((resolve) => {
    b.once('error', (e) => resolve(e.code))
    b.listen({ port: shared, host: '127.0.0.1', reusePort: true }, () => resolve('two listeners'))
  })
  a.close()
  b.close()
} catch (error) {
  facts.reusePort = String(error?.code ?? error)
}
process.stdout.write(`${JSON.stringify(facts)}\n`)
process.exit(0)
