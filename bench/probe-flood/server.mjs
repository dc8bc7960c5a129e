// The app under the probe flood: lastcall with the automatic readiness delay, nothing else.
// Prints {"port":N} once listening; GET /__stats answers the CPU time used so far and the heap after two full GCs (run with --expose-gc).
import { createServer } from 'node:http'
import { createShutdown } from '@lastcall/core'

const shutdown = createShutdown({ signals: [], exit: false, logger: false, readinessDelayMs: 'auto', platform: false })
const server = shutdown.attach(createServer(shutdown.handler((req, res) => {
  if (req.url === '/__stats') {
    const cpu = process.cpuUsage()
    globalThis.gc()
    globalThis.gc()
    res.end(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, heapUsed: process.memoryUsage().heapUsed }))
    return
  }
  res.end('ok')
})))
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
