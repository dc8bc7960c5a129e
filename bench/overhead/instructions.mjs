// Overhead in instructions, not seconds: how many CPU instructions a request
// costs with and without lastcall, counted by valgrind's callgrind. Counts do
// not depend on what else the machine is doing, so this settles what the
// wall-clock benchmark (run.mjs) cannot on a shared machine.
//
//   pnpm build && node bench/overhead/instructions.mjs [--frameworks node:http,express] [--small 3000] [--large 9000] [--reps 2]
//
// Each server runs under callgrind twice per variant, answering `small` and
// then `large` requests from a keep-alive client outside valgrind; the
// difference divided by (large - small) is the steady-state cost of one
// request, free of startup and JIT warm-up. Writes docs/bench/instructions.json.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machine } from './machine.mjs'
import { FRAMEWORKS, adapterAvailable } from './servers.mjs'

const { values: args } = parseArgs({
  options: {
    frameworks: { type: 'string' },
    small: { type: 'string', default: '3000' },
    large: { type: 'string', default: '9000' },
    reps: { type: 'string', default: '2' },
    out: { type: 'string', default: fileURLToPath(new URL('../../docs/bench', import.meta.url)) },
  },
})
const small = Number(args.small)
const large = Number(args.large)
const reps = Number(args.reps)
if (!(Number.isInteger(small) && Number.isInteger(large) && small > 0 && large > small)) throw new Error('--small and --large must be integers with 0 < small < large')
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' })
} catch {
  throw new Error('valgrind is needed (apt-get install valgrind)')
}
const frameworks = []
for (const name of args.frameworks?.split(',') ?? Object.keys(FRAMEWORKS)) {
  if (!FRAMEWORKS[name]) throw new Error(`unknown framework "${name}"; known: ${Object.keys(FRAMEWORKS).join(', ')}`)
  if (await adapterAvailable(name)) frameworks.push(name)
  else console.error(`[instructions] ${name}: its adapter is not built, skipped (pnpm build)`)
}
const serverScript = fileURLToPath(new URL('instructions-server.mjs', import.meta.url))

/** Runs one server under callgrind for `count` requests; resolves with the instructions counted. */
async function count(framework, variant, count) {
  const log = join(tmpdir(), `lastcall-callgrind-${process.pid}-${Date.now()}.log`)
  const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', `--log-file=${log}`, process.execPath, serverScript, framework, variant, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const line = await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve)
      child.once('exit', () => reject(new Error(`${framework}/${variant} exited before listening`)))
    })
    const { port } = JSON.parse(line)
    await load(port, count)
    const [code] = await once(child, 'exit')
    if (code !== 0) throw new Error(`${framework}/${variant} exited with ${code}`)
    const collected = /Collected : (\d+)/.exec(readFileSync(log, 'utf8'))
    if (!collected) throw new Error(`no instruction count in ${log}`)
    return Number(collected[1])
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(log, { force: true })
  }
}

/** `total` GET / on 4 keep-alive connections, one at a time each. */
async function load(port, total) {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let sent = 0
  // A request reset before the server read it was not counted there: send it again.
  const one = () => new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(true))
    }).on('error', (error) => (error.code === 'ECONNRESET' ? resolve(false) : reject(error))).end()
  })
  const worker = async () => {
    while (sent < total) {
      sent++
      if (!(await one())) sent--
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  agent.destroy()
}

const results = []
for (const framework of frameworks) {
  const perRequest = { bare: [], lastcall: [] }
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of ['bare', 'lastcall']) {
      const a = await count(framework, variant, small)
      const b = await count(framework, variant, large)
      perRequest[variant].push((b - a) / (large - small))
      console.error(`[instructions] ${framework} ${variant} rep ${rep + 1}: ${Math.round((b - a) / (large - small))} instructions/request`)
    }
  }
  const ratios = perRequest.lastcall.map((l, i) => l / perRequest.bare[i])
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length
  results.push({
    framework,
    bareInstructionsPerRequest: Math.round(mean(perRequest.bare)),
    lastcallInstructionsPerRequest: Math.round(mean(perRequest.lastcall)),
    extraPerRequest: Math.round(mean(perRequest.lastcall) - mean(perRequest.bare)),
    ratio: Number(mean(ratios).toFixed(4)),
    runs: perRequest,
  })
}
const file = join(args.out, 'instructions.json')
writeFileSync(file, `${JSON.stringify({ benchmark: 'instructions', date: new Date().toISOString(), machine: machine(), small, large, reps, results }, null, 2)}\n`)
console.log('| framework | bare instr/request | lastcall instr/request | extra | lastcall/bare |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const r of results) console.log(`| ${r.framework} | ${r.bareInstructionsPerRequest} | ${r.lastcallInstructionsPerRequest} | ${r.extraPerRequest} | ${r.ratio} |`)
console.error(`[instructions] wrote ${file}`)
