#!/usr/bin/env node
// lastcall demo: a real HTTP service with lastcall in a child process, real
// keep-alive clients (fast, slow and POST requests, one SSE stream), SIGTERM
// in the middle of the load, and what every client saw.
//
//   node examples/demo/demo.mjs [--framework express|koa|fastify|hono|nestjs|core] [--duration 3] [--connections 32] [--compare] [--json] [--timeline file.json]
//
// Exits 1 when the lastcall server failed a request in flight or did not exit 0.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatReport } from '@lastcall/core'
import { children, runScenario } from './lib/run.mjs'
import { writeFileSync } from 'node:fs'
import { failedCount, renderPhases, renderTally, renderTimeline, timelineData } from './lib/render.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Server variants by `--framework`. An adapter joins with one line and one
 * file in servers/ that speaks the same stdout protocol as servers/core.mjs.
 * @type {Record<string, { label: string, file: string }>}
 */
const FRAMEWORKS = {
  express: { label: 'lastcall + Express', file: 'servers/express.mjs' },
  koa: { label: 'lastcall + Koa', file: 'servers/koa.mjs' },
  fastify: { label: 'lastcall + Fastify', file: 'servers/fastify.mjs' },
  hono: { label: 'lastcall + Hono', file: 'servers/hono.mjs' },
  nestjs: { label: 'lastcall + NestJS', file: 'servers/nestjs.mjs' },
  core: { label: 'lastcall + node:http', file: 'servers/core.mjs' },
}
const DEFAULT_FRAMEWORK = 'express'
const NAIVE = { label: 'naive server.close()', file: 'servers/naive.mjs' }

const USAGE = `usage: node examples/demo/demo.mjs [options]

  --framework <name>   server to run: ${Object.keys(FRAMEWORKS).join(', ')} (default ${DEFAULT_FRAMEWORK})
  --duration <s>       seconds of load before SIGTERM, 0.5-20 (default 3)
  --connections <n>    concurrent keep-alive clients, 1-256 (default 32)
  --compare            also run the same load against a naive node:http server.close() server
  --json               print a JSON summary instead of the report
  --seed <n>           request mix seed (default 1)
  --timeline <file>    also write each run's timeline as JSON (requests per 100 ms by outcome, the
                       phases); node bench/demo-timeline.mjs <file> <svg> charts it
  -h, --help`

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  console.error(`demo: ${message}\n\n${USAGE}`)
  process.exit(2)
}

/** @param {string[]} argv */
function parseOptions(argv) {
  // `pnpm demo -- --compare` hands the script a leading `--`.
  while (argv[0] === '--') argv.shift()
  const options = /** @type {const} */ ({
    framework: { type: 'string', default: DEFAULT_FRAMEWORK },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    compare: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    timeline: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  })
  /** @type {ReturnType<typeof parseArgs<{ args: string[], options: typeof options }>>['values']} */
  let values
  try {
    values = parseArgs({ args: argv, options }).values
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error))
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const framework = FRAMEWORKS[values.framework]
  if (!framework) fail(`--framework must be one of ${Object.keys(FRAMEWORKS).join(', ')}; received "${values.framework}"`)
  const duration = Number(values.duration)
  if (!(duration >= 0.5 && duration <= 20)) fail(`--duration must be a number of seconds from 0.5 to 20; received "${values.duration}"`)
  const connections = Number(values.connections)
  if (!Number.isInteger(connections) || connections < 1 || connections > 256) fail(`--connections must be an integer from 1 to 256; received "${values.connections}"`)
  const seed = Number(values.seed)
  if (!Number.isInteger(seed)) fail(`--seed must be an integer; received "${values.seed}"`)
  return { name: values.framework, framework, duration, connections, seed, compare: values.compare, json: values.json, timeline: values.timeline }
}

const args = parseOptions(process.argv.slice(2))
const { framework, duration, connections, seed } = args

// Ctrl-C: stop every server this demo started, by pid.
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
    process.exit(130)
  })
}

const tty = process.stderr.isTTY === true
/** @param {string} name */
function progress(name) {
  let lastPhase = ''
  /** @param {{ phase: string, load: any }} state */
  return ({ phase, load }) => {
    const t = (load.now() / 1000).toFixed(1)
    const line = `[${name}] ${t.padStart(5)} s  ${phase.padEnd(13)} sent ${load.sent}  ok ${load.tally.ok}  failed ${failedCount(load.tally)}  refused ${load.tally.refused}  in flight ${load.inFlight}`
    if (tty) {
      process.stderr.write(phase === 'done' ? '\r\x1b[K' : `\r\x1b[K${line}`)
    } else if (phase !== lastPhase && !args.json) {
      process.stderr.write(`${line}\n`)
    }
    lastPhase = phase
  }
}

/** @param {{ label: string, file: string }} variant @param {string} name */
async function run(variant, name) {
  if (!args.json) console.log(`\n== ${variant.label}: ${connections} keep-alive clients + 1 SSE stream, SIGTERM after ${duration} s`)
  const result = await runScenario({ serverFile: join(here, variant.file), loadMs: duration * 1000, connections, seed, onProgress: progress(name) })
  return { name, label: variant.label, ...result, sigtermToExitMs: Math.round(result.exitAt - result.sigtermAt) }
}

const runs = [await run(framework, args.name)]
if (args.compare) runs.push(await run(NAIVE, 'naive'))

const main = /** @type {typeof runs[number]} */ (runs[0])
const ok = main.report !== undefined && main.exit.code === 0 && failedCount(main.tally) === 0

if (args.timeline) {
  const data = { framework: args.name, options: { duration, connections, compare: args.compare, seed }, node: process.version, date: new Date().toISOString(), runs: runs.map((r) => ({ name: r.name, label: r.label, ...timelineData(r) })) }
  writeFileSync(args.timeline, `${JSON.stringify(data, null, 1)}\n`)
}

if (args.json) {
  const summary = {
    framework: args.name,
    options: { duration, connections, compare: args.compare, seed },
    ok,
    runs: runs.map((r) => ({
      name: r.name,
      label: r.label,
      exitCode: r.exit.code,
      exitSignal: r.exit.signal,
      sigtermToExitMs: r.sigtermToExitMs,
      sent: r.sent,
      tally: r.tally,
      failed: failedCount(r.tally),
      report: r.report ?? null,
      serverLog: r.lines.map((l) => l.text),
    })),
  }
  console.log(JSON.stringify(summary, null, 2))
} else {
  for (const r of runs) {
    console.log(`\n-- ${r.label}: timeline`)
    console.log(renderTimeline(r))
    console.log(`\n-- ${r.label}: server`)
    if (r.report) {
      console.log(renderPhases(r.report))
      console.log('\n  the report (formatReport):')
      console.log(formatReport(/** @type {any} */ (r.report)).replace(/^/gm, '    '))
    } else {
      console.log(r.lines.map((l) => `    ${(l.at / 1000).toFixed(2)} s  ${l.text}`).join('\n'))
    }
  }
  console.log('\n-- what the clients saw')
  console.log(renderTally(runs.map((r) => ({ title: r.label, tally: r.tally, exitCode: r.exit.code ?? null, sigtermToExitMs: r.sigtermToExitMs }))))
  console.log(ok
    ? `\nlastcall: ${main.sent} requests, none failed; exit code ${main.exit.code}.`
    : `\nlastcall: ${failedCount(main.tally)} requests failed in flight; exit code ${main.exit.code}${main.report ? '' : '; no report'}.`)
}
process.exit(ok ? 0 : 1)
