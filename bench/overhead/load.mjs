// One load-generator run, meant to be started as its own process (pinned to a
// core by run.mjs): an unrecorded warmup, then the measured run. Prints one
// JSON line with throughput and latency.
import autocannon from 'autocannon'

const [url, connections = '32', warmup = '1', duration = '3'] = process.argv.slice(2)
if (url === undefined) {
  console.error('usage: node load.mjs <url> [connections] [warmupSeconds] [durationSeconds]')
  process.exit(2)
}

const base = { url, connections: Number(connections), pipelining: 1, timeout: 10 }

async function run(seconds) {
  const instance = autocannon({ ...base, duration: Number(seconds) })
  return instance
}

if (Number(warmup) > 0) await run(warmup)
const r = await run(duration)
const summary = {
  requests: r.requests.total,
  durationS: r.duration,
  rps: r.requests.total / r.duration,
  latencyMs: { mean: r.latency.average, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx,
}
process.stdout.write(`${JSON.stringify(summary)}\n`)
