// Sends orders on keep-alive connections for DURATION_S seconds and tallies the answers.
// Usage: node load.mjs [port] ; SIGTERM the server while it runs.
import { Agent, request } from 'node:http'

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000)
const seconds = Number(process.env.DURATION_S ?? 10)
const agent = new Agent({ keepAlive: true, maxSockets: 8 })
const tally = new Map()
const until = Date.now() + seconds * 1000

function post() {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/orders', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume().on('end', () => resolve(String(res.statusCode)))
    })
    req.on('error', (e) => resolve(e.code ?? e.message))
    req.end(JSON.stringify({ item: 'book' }))
  })
}

await Promise.all(Array.from({ length: 8 }, async () => {
  while (Date.now() < until) {
    const outcome = await post()
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1)
    if (outcome === 'ECONNREFUSED') break
  }
}))
agent.destroy()
console.log(Object.fromEntries(tally))
