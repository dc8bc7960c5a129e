// Consumer tests: the packages as users get them. Packs every published
// package with `pnpm pack`, checks what each tarball holds, installs the
// tarballs with npm into fresh projects outside the workspace (ESM with the
// newest framework versions, CommonJS with the lowest versions the peer
// ranges allow, TypeScript typechecked and built with moduleResolution node16
// and bundler), then starts an Express, a Koa, a Fastify and a Hono app in each, sends
// a real SIGTERM with a request in flight and checks the exit code and the
// report. Then the release dry run: `changeset version` on a scratch copy and
// `pnpm publish --dry-run` for each package. Writes its results in vitest's JSON shape (for scripts/test-summary.mjs).
//
//   node scripts/consumers.mjs [--json <file>] [--keep] [--projects esm,cjs,ts] [--no-release]
//
// --projects picks the project shapes (all three by default); --no-release
// skips the release dry run. .ci/run runs everything on Node 20 and
// `--projects esm,cjs --no-release` on every other major, each with that
// major's node and npm first on PATH (the apps run on process.execPath).
//
// Needs `pnpm run build` first and the npm registry. One npm install per
// project, all from npm's shared cache when it can (--prefer-offline).
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import { publishedPackages } from './workspace.mjs'

const run = promisify(execFile)
const root = join(fileURLToPath(import.meta.url), '..', '..')
const args = process.argv.slice(2)
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const keep = args.includes('--keep')
const only = args.includes('--projects') ? args[args.indexOf('--projects') + 1].split(',') : undefined
const release = !args.includes('--no-release')
/** Every suite name says which Node ran it, since .ci/run runs this once per major. */
const nodeMajor = `node ${process.versions.node.split('.')[0]}`
const started = Date.now()
const work = mkdtempSync(join(tmpdir(), 'lastcall-consumers-'))

/** Results, grouped like vitest's files: { name, assertionResults: [{ fullName, status, failureMessages }] }. */
const suites = new Map()
function record(suite, name, error, skipped) {
  if (!suites.has(suite)) suites.set(suite, [])
  const status = error ? 'failed' : skipped ? 'skipped' : 'passed'
  suites.get(suite).push({ fullName: `${suite} > ${name}`, title: name, status, failureMessages: error ? [String(error.stack ?? error)] : [] })
  const took = ((Date.now() - started) / 1000).toFixed(0)
  const mark = { failed: 'x', skipped: '-', passed: '✓' }[status]
  console.log(`${mark} [${took}s] ${suite} > ${name}${error ? `\n    ${String(error.message ?? error).split('\n').join('\n    ')}` : skipped ? ` (skipped: ${skipped})` : ''}`)
}
async function test(suite, name, fn) {
  try {
    await fn()
    record(suite, name)
    return true
  } catch (error) {
    record(suite, name, error)
    return false
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message)
}

// ---- 1. pack -----------------------------------------------------------------

const packDir = join(work, 'packs')
mkdirSync(packDir)
// Every package of the workspace that is not private (scripts/workspace.mjs), so a new one is packed, installed and dry-run published the day it lands.
const packages = publishedPackages()
/** package name → tarball path */
const tarballs = {}
await Promise.all(packages.map(({ dir, pkg }) => test(`pack (${nodeMajor})`, `${pkg.name}: pnpm pack, and the tarball holds what it should`, async () => {
    const { stdout: packOut } = await run('pnpm', ['pack', '--pack-destination', packDir], { cwd: dir })
    const file = packOut.trim().split('\n').at(-1)
    assert(file && file.endsWith('.tgz') && existsSync(file), `pnpm pack printed no tarball: ${packOut}`)
    tarballs[pkg.name] = file
    const { stdout } = await run('tar', ['tzf', tarballs[pkg.name]])
    const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''))
    const has = new Set(files)
    const stray = files.filter((f) => /(^|\/)(test|tests|__tests__|fixtures)\//.test(f) || /\.(test|spec|test-d)\.[cm]?[jt]s$/.test(f))
    assert(stray.length === 0, `tests or fixtures in the tarball: ${stray.join(', ')}`)
    assert(has.has('README.md'), 'no README.md in the tarball')
    const { stdout: manifestText } = await run('tar', ['xzf', tarballs[pkg.name], '-O', 'package/package.json'])
    const manifest = JSON.parse(manifestText)
    // Where npm's page links: the repository (with this package's folder), the homepage and the issue tracker.
    const rel = dir.slice(root.length + 1)
    assert(manifest.repository?.url && manifest.repository.directory === rel, `repository ${JSON.stringify(manifest.repository)}: needs url and directory "${rel}"`)
    assert(typeof manifest.homepage === 'string' && manifest.bugs?.url, `homepage ${JSON.stringify(manifest.homepage)}, bugs ${JSON.stringify(manifest.bugs)}`)
    const workspaceRanges = Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies }).filter(([, range]) => String(range).startsWith('workspace:'))
    assert(workspaceRanges.length === 0, `workspace: ranges left in the packed package.json: ${workspaceRanges.map(([n, r]) => `${n}@${r}`).join(', ')}`)
    // Every file exports, main, module, types and bin point at is in the tarball.
    const targets = []
    const walk = (value) => {
      if (typeof value === 'string') targets.push(value)
      else if (value && typeof value === 'object') Object.values(value).forEach(walk)
    }
    walk(manifest.exports)
    walk([manifest.main, manifest.module, manifest.types, manifest.bin])
    const missing = targets.filter((t) => t.startsWith('./') || !t.includes(':')).map((t) => t.replace(/^\.\//, '')).filter((t) => !has.has(t))
    assert(missing.length === 0, `package.json points at files missing from the tarball: ${missing.join(', ')}`)
    // Source maps, when shipped, name sources that are shipped too.
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { stdout: mapText } = await run('tar', ['xzf', tarballs[pkg.name], '-O', `package/${map}`])
      const base = map.split('/').slice(0, -1)
      for (const source of JSON.parse(mapText).sources ?? []) {
        const parts = [...base]
        for (const part of source.split('/')) {
          if (part === '..') parts.pop()
          else if (part !== '.') parts.push(part)
        }
        assert(has.has(parts.join('/')), `${map} names ${source}, which is not in the tarball`)
      }
    }
  })))
const packed = Object.keys(tarballs).length === packages.length

// ---- 2. projects -------------------------------------------------------------

/**
 * Each app, written once in TypeScript (the TypeScript project builds it as
 * is; the JavaScript projects get it with the types stripped by tsc's
 * transpileModule): GET / → hello, GET /slow → logs 'slow started' and
 * answers 300 ms later; the report printed as one JSON line.
 */
const APPS = {
  express: `import express, { type Request, type Response } from 'express'
import { gracefulShutdown, type ShutdownReport } from '@lastcall/express'
import type { AddressInfo } from 'node:net'
const app = express()
const shutdown = gracefulShutdown()
app.use(shutdown)
app.get('/', (_req: Request, res: Response) => { res.send('hello\\n') })
app.get('/slow', (req: Request, res: Response) => {
  console.log('slow started')
  const signal: AbortSignal = req.lastcall.signal
  setTimeout(() => res.send(signal instanceof AbortSignal ? 'slow\\n' : 'no signal\\n'), 300)
})
shutdown.on('closed', (report: ShutdownReport) => console.log('REPORT ' + JSON.stringify(report)))
const server = shutdown.attach(app.listen(0, '127.0.0.1'))
server.on('listening', () => console.log('listening on ' + (server.address() as AddressInfo).port))
`,
  koa: `import Koa from 'koa'
import { gracefulShutdown, type ShutdownReport } from '@lastcall/koa'
import type { AddressInfo } from 'node:net'
const app = new Koa()
const shutdown = gracefulShutdown()
app.use(shutdown)
app.use(async (ctx) => {
  if (ctx.path === '/slow') {
    console.log('slow started')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const signal: AbortSignal = ctx.lastcall.signal
    ctx.body = signal instanceof AbortSignal ? 'slow\\n' : 'no signal\\n'
  } else ctx.body = 'hello\\n'
})
shutdown.on('closed', (report: ShutdownReport) => console.log('REPORT ' + JSON.stringify(report)))
const server = shutdown.attach(app.listen(0, '127.0.0.1'))
server.on('listening', () => console.log('listening on ' + (server.address() as AddressInfo).port))
`,
  fastify: `import Fastify from 'fastify'
import { gracefulShutdown, type ShutdownReport } from '@lastcall/fastify'
import type { AddressInfo } from 'node:net'
const app = Fastify()
await app.register(gracefulShutdown)
app.get('/', async () => 'hello\\n')
app.get('/slow', async (request) => {
  console.log('slow started')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const signal: AbortSignal = request.lastcall.signal
  return signal instanceof AbortSignal ? 'slow\\n' : 'no signal\\n'
})
app.shutdown.on('closed', (report: ShutdownReport) => console.log('REPORT ' + JSON.stringify(report)))
await app.listen({ port: 0, host: '127.0.0.1' })
console.log('listening on ' + (app.server.address() as AddressInfo).port)
`,
  hono: `import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { gracefulShutdown, type ShutdownReport } from '@lastcall/hono'
import type { AddressInfo } from 'node:net'
const app = new Hono()
const shutdown = gracefulShutdown()
app.use(shutdown)
app.get('/', (c) => c.text('hello\\n'))
app.get('/slow', async (c) => {
  console.log('slow started')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const signal: AbortSignal = c.var.lastcall.signal
  return c.text(signal instanceof AbortSignal ? 'slow\\n' : 'no signal\\n')
})
shutdown.on('closed', (report: ShutdownReport) => console.log('REPORT ' + JSON.stringify(report)))
const server = shutdown.attach(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }))
server.on('listening', () => console.log('listening on ' + (server.address() as AddressInfo).port))
`,
}

/** Express with a pg pool closed by @lastcall/resources in the stores phase; /slow holds a query. Runs when LASTCALL_PG_URL is set (scripts/services.sh). */
const PG_APP = `import express from 'express'
import pg from 'pg'
import { gracefulShutdown } from '@lastcall/express'
import { closePgPool } from '@lastcall/resources/pg'
const pool = new pg.Pool({ connectionString: process.env.LASTCALL_PG_URL, max: 2 })
const app = express()
const shutdown = gracefulShutdown()
app.use(shutdown)
closePgPool(shutdown, pool)
app.get('/', (req, res, next) => { pool.query('SELECT 1 AS one').then((r) => res.send(r.rows[0].one === 1 ? 'hello\\n' : 'no row\\n'), next) })
app.get('/slow', (req, res, next) => {
  console.log('slow started')
  pool.query('SELECT pg_sleep(0.3)').then(() => res.send('slow\\n'), next)
})
shutdown.on('closed', (report) => console.log('REPORT ' + JSON.stringify(report)))
const server = shutdown.attach(app.listen(0, '127.0.0.1'))
server.on('listening', () => console.log('listening on ' + server.address().port))
`
const pgUrl = process.env.LASTCALL_PG_URL
const pgSkip = pgUrl ? undefined : (process.env.LASTCALL_SKIP_PG ?? 'LASTCALL_PG_URL is not set (scripts/services.sh start)')
/** The pool's hook ran in the stores phase and ended it. */
const pgClosed = (report) => {
  const hook = report.hooks.find((h) => h.name === 'pg')
  assert(hook && hook.phase === 'stores' && hook.outcome === 'ok', `the pg hook: ${JSON.stringify(hook)}`)
}

const typescript = createRequire(join(root, 'package.json'))('typescript')
/** The TypeScript app as plain ESM: types stripped, nothing else changed. */
function toEsm(source) {
  return typescript.transpileModule(source, { compilerOptions: { module: typescript.ModuleKind.ESNext, target: typescript.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText
}

/** For the installed `lastcall` command: a Deployment that fits lastcall's defaults, and one whose grace period does not. */
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 40
      containers:
        - name: api
          image: api
          command: ["node", "server.mjs"]
          env: [{ name: LASTCALL_GRACE_PERIOD_MS, value: "40000" }]
          readinessProbe: { httpGet: { path: /readyz, port: 3000 }, periodSeconds: 2, failureThreshold: 1 }
`

/** The ESM app as CommonJS: require() instead of import, and no top-level await. */
function toCjs(source) {
  let code = source
    .replace(/^import (\w+) from '([^']+)';?$/gm, "const $1 = require('$2')")
    .replace(/^import \{ ([^}]+) \} from '([^']+)';?$/gm, "const { $1 } = require('$2')")
  if (code.includes('await app.')) code = `;(async () => {\n${code}})()\n`
  return code
}

/** What `@lastcall/source` and the monorepo's own tsconfig would hide: a plain consumer tsconfig. */
const tsconfig = (module, moduleResolution, outDir) => ({
  compilerOptions: { target: 'ES2022', module, moduleResolution, strict: true, skipLibCheck: false, esModuleInterop: true, outDir, rootDir: 'src', types: ['node'] },
  include: ['src'],
})

/** The peer ranges the packages declare, read from their package.json so the test follows them. */
const peer = (dir, name) => readJson(join(root, 'packages', dir, 'package.json')).peerDependencies[name]
const RANGES = { express: peer('express', 'express'), koa: peer('koa', 'koa'), fastify: peer('fastify', 'fastify'), hono: peer('hono', 'hono'), '@hono/node-server': peer('hono', '@hono/node-server'), pg: peer('resources', 'pg') }
/** The bottom of a range: its first version (`^4.21.0 || ^5.0.0` → 4.21.0, `>=8.0.3` → 8.0.3). */
const lowest = (range) => /\d+\.\d+\.\d+/.exec(range)[0]
const LOWEST = Object.fromEntries(Object.entries(RANGES).map(([name, range]) => [name, lowest(range)]))

/**
 * The project shapes. Framework versions: the lowest each peer range allows,
 * or the range itself, for which npm installs the newest version in it.
 */
const PROJECTS = [
  {
    name: 'esm (newest frameworks)',
    dir: 'esm',
    type: 'module',
    deps: RANGES,
    files: { ...Object.fromEntries(Object.entries(APPS).map(([fw, source]) => [`${fw}.mjs`, toEsm(source)])), 'pg.mjs': PG_APP, 'deploy/deployment.yaml': DEPLOYMENT },
    cli: true,
    runs: [...Object.keys(APPS).map((fw) => ({ fw, file: `${fw}.mjs` })), { fw: 'pg', file: 'pg.mjs', label: 'express + pg pool', skip: pgSkip, check: pgClosed }],
  },
  {
    name: 'commonjs (lowest frameworks)',
    dir: 'cjs',
    type: 'commonjs',
    deps: LOWEST,
    files: { ...Object.fromEntries(Object.entries(APPS).map(([fw, source]) => [`${fw}.cjs`, toCjs(toEsm(source))])), 'pg.cjs': toCjs(PG_APP) },
    runs: [...Object.keys(APPS).map((fw) => ({ fw, file: `${fw}.cjs` })), { fw: 'pg', file: 'pg.cjs', label: 'express + pg pool', skip: pgSkip, check: pgClosed }],
  },
  {
    name: 'typescript (newest frameworks)',
    dir: 'ts',
    type: 'module',
    deps: { express: RANGES.express, koa: RANGES.koa, fastify: RANGES.fastify, hono: RANGES.hono, '@hono/node-server': RANGES['@hono/node-server'], typescript: readJson(join(root, 'package.json')).devDependencies.typescript, '@types/node': '^20.19.0', '@types/express': '^5', '@types/koa': peer('koa', '@types/koa') },
    files: {
      ...Object.fromEntries(Object.entries(APPS).map(([fw, source]) => [`src/${fw}.ts`, source])),
      'tsconfig.node16.json': JSON.stringify(tsconfig('node16', 'node16', 'out-node16'), null, 2),
      'tsconfig.bundler.json': JSON.stringify(tsconfig('preserve', 'bundler', 'out-bundler'), null, 2),
    },
    build: [
      ['moduleResolution node16', 'tsconfig.node16.json'],
      ['moduleResolution bundler', 'tsconfig.bundler.json'],
    ],
    runs: Object.keys(APPS).flatMap((fw) => [
      { fw, file: `out-node16/${fw}.js`, label: 'node16 build' },
      { fw, file: `out-bundler/${fw}.js`, label: 'bundler build' },
    ]),
  },
]

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode, body }))
    }).on('error', reject).end()
  })
}

/** Starts the app, waits for it, puts /slow in flight, sends SIGTERM once the app has the request, checks what happens. */
async function exercise(cwd, file) {
  const env = { ...process.env }
  // No platform in the consumer's environment: lastcall's plain defaults.
  for (const name of ['KUBERNETES_SERVICE_HOST', 'pm_id', 'NOTIFY_SOCKET', 'INVOCATION_ID', 'LISTEN_FDS', 'LISTEN_PID', 'container', 'LASTCALL_GRACE_PERIOD_MS', 'NODE_OPTIONS']) delete env[name]
  const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000)
  let output = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c))
  const waiters = []
  let report
  createInterface({ input: child.stdout }).on('line', (line) => {
    output += `${line}\n`
    if (line.startsWith('REPORT ')) report = JSON.parse(line.slice(7))
    for (const w of waiters.splice(0)) if (!w(line)) waiters.push(w)
  })
  const exited = once(child, 'exit')
  const waitFor = (re) =>
    new Promise((resolve, reject) => {
      waiters.push((line) => {
        const m = re.exec(line)
        if (m) resolve(m)
        return Boolean(m)
      })
      exited.then(() => reject(new Error(`the app exited before printing ${re}:\n${output}${stderr}`)))
    })
  try {
    const port = Number((await waitFor(/^listening on (\d+)$/))[1])
    const hello = await get(port, '/')
    assert(hello.status === 200 && hello.body === 'hello\n', `GET / answered ${hello.status} ${JSON.stringify(hello.body)}`)
    assert((await get(port, '/readyz')).status === 200, 'GET /readyz did not answer 200')
    const inFlight = waitFor(/^slow started$/)
    const slow = get(port, '/slow')
    await inFlight
    child.kill('SIGTERM')
    const [code, signal] = await exited
    const answer = await slow.catch((error) => ({ status: `error ${error.code ?? error.message}` }))
    assert(answer.status === 200 && answer.body === 'slow\n', `the request in flight got ${answer.status}`)
    assert(code === 0, `exit code ${code} (signal ${signal}); stderr: ${stderr}`)
    assert(report, `no report printed:\n${output}`)
    assert(report.trigger?.type === 'signal' && report.trigger.signal === 'SIGTERM', `report.trigger is ${JSON.stringify(report.trigger)}`)
    assert(report.exitCode === 0 && report.timedOut === false, `report.exitCode ${report.exitCode}, timedOut ${report.timedOut}`)
    assert(report.requests.completed >= 1 && report.requests.forced === 0, `report.requests ${JSON.stringify(report.requests)}`)
    return report
  } finally {
    clearTimeout(guard)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/**
 * tsc's errors in the consumer's own files and in @lastcall's declarations.
 * Errors inside other packages' declarations (a third-party @types package out
 * of step with its library) are not ours to fix: printed, not failed.
 */
async function typecheck(dir, config) {
  const tsc = join(dir, 'node_modules', '.bin', 'tsc')
  const result = await run(tsc, ['-p', config], { cwd: dir }).then(() => ({ stdout: '' }), (error) => ({ stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` }))
  const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line))
  const ours = errors.filter((line) => !line.startsWith('node_modules/') || line.startsWith('node_modules/@lastcall/'))
  const theirs = errors.filter((line) => !ours.includes(line))
  if (theirs.length > 0) console.log(`  note: ${config}: ${theirs.length} error(s) in third-party declarations, not counted:\n    ${theirs.join('\n    ')}`)
  assert(ours.length === 0, ours.join('\n'))
}

const npmCache = process.env.npm_config_cache // undefined: npm's own shared cache (~/.npm)
/** Installs and builds one project; returns the framework versions installed, or undefined when it could not. */
async function prepare(project) {
  const dir = join(work, project.dir)
  mkdirSync(dir, { recursive: true })
  const suite = `consumers (${nodeMajor}): ${project.name}`
  if (!packed) {
    record(suite, 'npm install of the packed tarballs', new Error('not run: a package could not be packed'))
    return undefined
  }
  // The tarballs as dependencies, and as overrides so that @lastcall/* dependencies between them resolve to the tarballs, never the registry.
  const local = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${project.dir}`, private: true, type: project.type, dependencies: { ...local, ...project.deps }, overrides: local }, null, 2))
  for (const [file, text] of Object.entries(project.files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true })
    writeFileSync(join(dir, file), text)
  }
  const installed = await test(suite, 'npm install of the packed tarballs', async () => {
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...(npmCache ? ['--cache', npmCache] : [])], { cwd: dir, timeout: 180_000 })
    for (const name of Object.keys(tarballs)) assert(existsSync(join(dir, 'node_modules', name, 'package.json')), `${name} is not installed`)
    // No second copy of core nested under an adapter: one controller class for everyone.
    const nested = Object.keys(tarballs).filter((name) => existsSync(join(dir, 'node_modules', name, 'node_modules', '@lastcall', 'core')))
    assert(nested.length === 0, `a second @lastcall/core under ${nested.join(', ')}`)
  })
  if (!installed) return undefined
  if (project.cli) {
    await test(suite, 'the installed lastcall command: check --config passes a fitting Deployment and fails a short grace period', async () => {
      const bin = join(dir, 'node_modules', '.bin', 'lastcall')
      await run(bin, ['check', '--config', 'deploy/deployment.yaml'], { cwd: dir })
      writeFileSync(join(dir, 'deploy', 'deployment.yaml'), DEPLOYMENT.replace('terminationGracePeriodSeconds: 40', 'terminationGracePeriodSeconds: 20'))
      const failed = await run(bin, ['check', '--json', '--config', 'deploy/deployment.yaml'], { cwd: dir }).then(() => undefined, (error) => error)
      assert(failed?.code === 1, `exit code ${failed?.code ?? 0}, expected 1`)
      const codes = JSON.parse(failed.stdout).errors.map((f) => f.code)
      assert(codes.includes('grace-period-short'), `findings: ${codes.join(', ')}`)
    })
  }
  await Promise.all((project.build ?? []).map(([label, config]) => test(suite, `tsc typechecks and builds with ${label}`, () => typecheck(dir, config))))
  return [...Object.keys(APPS), '@hono/node-server', 'pg'].filter((name) => existsSync(join(dir, 'node_modules', name))).map((fw) => `${fw} ${readJson(join(dir, 'node_modules', fw, 'package.json')).version}`).join(', ')
}

// Installs and builds side by side (mostly waiting on the network); the apps one after another, so their timing is their own.
const chosen = PROJECTS.filter((project) => !only || only.includes(project.dir))
const prepared = await Promise.all(chosen.map(prepare))
for (const [i, project] of chosen.entries()) {
  const versions = prepared[i]
  if (versions === undefined) continue
  const dir = join(work, project.dir)
  const suite = `consumers (${nodeMajor}): ${project.name}`
  for (const { fw, file, label, skip, check } of project.runs) {
    const name = `${fw}${label ? ` (${label})` : ''}: a request in flight at SIGTERM completes, exit 0, a clean report [${versions}]`
    if (skip) record(suite, name, undefined, skip)
    else if (!existsSync(join(dir, file))) record(suite, name, new Error(`${file} was not built`))
    else await test(suite, name, async () => check?.(await exercise(dir, file)))
  }
}

// ---- 3. release dry run ------------------------------------------------------

// `changeset version` on a scratch copy of the workspace's manifests and changesets (nothing here is changed):
// every pending changeset must apply, bump the packages it names and reach their CHANGELOG.
if (release) await test('release', 'changeset version applies every pending changeset (on a scratch copy)', async () => {
  const scratch = join(work, 'changeset-version')
  const { stdout: tracked } = await run('git', ['ls-files', '-z', '--', '.changeset', 'pnpm-workspace.yaml', ':(glob)**/package.json', ':(glob)**/CHANGELOG.md'], { cwd: root })
  for (const file of tracked.split('\0').filter(Boolean)) {
    mkdirSync(join(scratch, file, '..'), { recursive: true })
    writeFileSync(join(scratch, file), readFileSync(join(root, file)))
  }
  const pending = readdirSync(join(scratch, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')
  const bumped = new Set(pending.flatMap((f) => [...readFileSync(join(scratch, '.changeset', f), 'utf8').matchAll(/^"(@lastcall\/[\w-]+)":\s*(major|minor|patch)$/gm)].map((m) => m[1])))
  await run(join(root, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: scratch })
  const left = readdirSync(join(scratch, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')
  assert(left.length === 0, `changesets not consumed: ${left.join(', ')}`)
  for (const { dir, pkg } of packages.filter(({ pkg }) => bumped.has(pkg.name))) {
    const rel = dir.slice(root.length + 1)
    const after = readJson(join(scratch, rel, 'package.json'))
    assert(after.version !== pkg.version, `${pkg.name} still at ${pkg.version}`)
    const changelog = readFileSync(join(scratch, rel, 'CHANGELOG.md'), 'utf8')
    assert(changelog.includes(`## ${after.version}`), `${rel}/CHANGELOG.md has no ${after.version} entry`)
  }
})

// `pnpm publish --dry-run` for every published package: packs with pnpm's publish path and stops before the upload.
if (release) await Promise.all(packages.map(({ dir, pkg }) => test('release', `${pkg.name}: pnpm publish --dry-run`, async () => {
  const { stdout, stderr } = await run('pnpm', ['publish', '--dry-run', '--no-git-checks'], { cwd: dir })
  assert(`${stdout}${stderr}`.includes(`${pkg.name}@${pkg.version}`), `no "${pkg.name}@${pkg.version}" in its output:\n${stdout}${stderr}`)
})))

// ---- 3. results --------------------------------------------------------------

if (!keep) rmSync(work, { recursive: true, force: true })
else console.log(`projects kept in ${work}`)
const testResults = [...suites].map(([name, assertionResults]) => ({ name, status: assertionResults.some((a) => a.status === 'failed') ? 'failed' : 'passed', assertionResults }))
const all = testResults.flatMap((s) => s.assertionResults)
const failed = all.filter((a) => a.status === 'failed').length
const skippedCount = all.filter((a) => a.status === 'skipped').length
console.log(`consumers: ${all.length - failed - skippedCount} passed, ${failed} failed${skippedCount ? `, ${skippedCount} skipped` : ''} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ testResults }, null, 2))
process.exitCode = failed > 0 ? 1 : 0
