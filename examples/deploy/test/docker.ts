/**
 * A real Docker engine for the container tests: started through
 * scripts/docker.sh (private dockerd, no bridge, no firewall rules, host
 * networking), the base image imported from this machine's node binary, and
 * the recipe's Dockerfile built FROM it with the legacy builder. No registry
 * is reachable here, so `npm ci` inside the build installs @lastcall/core
 * from a one-package registry this helper serves on loopback (the packed
 * tarball of packages/core's build).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { lineLog } from './lines.js'

const run = promisify(execFile)
const repo = join(import.meta.dirname, '..', '..', '..')
const script = join(repo, 'scripts', 'docker.sh')

export const BASE_IMAGE = 'lastcall-node:local'
export const RECIPE_IMAGE = 'lastcall-recipe:test'

export interface Engine {
  /** Runs the docker CLI against this engine. */
  docker(args: readonly string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>
  /** `docker events` for one container, as lines `kill 15`, `kill 9`, `die 0` (action, then signal or exit code), until `stop()`. */
  events(container: string): { lines: string[]; waitFor(action: RegExp): Promise<string>; stop(): void }
  /** Stops dockerd when this helper started it. */
  close(): Promise<void>
}

export type EngineResult = { engine: Engine } | { skip: string }

const stateDir = process.env.LASTCALL_DOCKER_DIR ?? '/tmp/lastcall-docker'

function readEnv(): Record<string, string> {
  const file = process.env.LASTCALL_DOCKER_ENV ?? join(stateDir, 'env')
  if (!existsSync(file)) return {}
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => /^(\w+)='(.*)'$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  )
}

/** Starts the engine (or finds it running) and imports the base image; `{ skip }` with the reason when it cannot. */
export async function startEngine(): Promise<EngineResult> {
  if (process.platform !== 'linux') return { skip: `Docker tests run on Linux; this is ${process.platform}` }
  const startedHere = !existsSync(join(stateDir, 'dockerd.pid'))
  try {
    await run(script, ['start'], { timeout: 120_000 })
  } catch (error) {
    return { skip: `scripts/docker.sh start failed: ${(error as Error).message}` }
  }
  const env = readEnv()
  if (env.LASTCALL_SKIP_DOCKER) return { skip: env.LASTCALL_SKIP_DOCKER }
  if (!env.LASTCALL_DOCKER_HOST) return { skip: 'scripts/docker.sh wrote no engine address' }
  const dockerEnv = { ...process.env, DOCKER_HOST: env.LASTCALL_DOCKER_HOST, DOCKER_BUILDKIT: '0' }
  const docker: Engine['docker'] = (args, options) => run('docker', [...args], { env: dockerEnv, timeout: options?.timeoutMs ?? 60_000, maxBuffer: 16 * 2 ** 20 })
  try {
    await run(script, ['image'], { env: { ...process.env, IMAGE: BASE_IMAGE }, timeout: 120_000 })
  } catch (error) {
    return { skip: `the base image could not be imported: ${(error as Error).message}` }
  }
  const children = new Set<ChildProcess>()
  return {
    engine: {
      docker,
      events(container) {
        const child = spawn('docker', ['events', '--filter', `container=${container}`, '--format', '{{json .}}'], { env: dockerEnv, stdio: ['ignore', 'pipe', 'ignore'] })
        children.add(child)
        const log = lineLog(child.stdout!, (raw) => {
          const event = JSON.parse(raw) as { Action: string; Actor?: { Attributes?: Record<string, string> } }
          const detail = event.Actor?.Attributes?.signal ?? event.Actor?.Attributes?.exitCode
          return detail === undefined ? event.Action : `${event.Action} ${detail}`
        })
        return {
          lines: log.all,
          waitFor: (action) => log.next((line) => action.test(line)),
          stop: () => {
            child.kill()
            children.delete(child)
          },
        }
      },
      async close() {
        for (const c of children) c.kill()
        if (startedHere) await run(script, ['stop'], { timeout: 60_000 })
      },
    },
  }
}

/** A registry that knows one package, @lastcall/core, packed from packages/core. */
async function coreRegistry(dir: string): Promise<{ url: string; server: Server; version: string }> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: join(repo, 'packages', 'core') })
  const packed = (JSON.parse(stdout) as Array<{ filename: string; version: string }>)[0]!
  const tarball = readFileSync(join(dir, packed.filename.replace('@lastcall/', 'lastcall-')))
  const manifest = JSON.parse(readFileSync(join(repo, 'packages', 'core', 'package.json'), 'utf8')) as Record<string, unknown>
  const server = createServer((req, res) => {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    if (req.url === '/core.tgz') return res.end(tarball)
    if (req.url === '/@lastcall%2fcore' || req.url === '/@lastcall%2Fcore' || req.url === '/@lastcall/core') {
      const dist = { tarball: `${url}/core.tgz`, shasum: createHash('sha1').update(tarball).digest('hex'), integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}` }
      res.setHeader('Content-Type', 'application/json')
      return res.end(JSON.stringify({ name: '@lastcall/core', 'dist-tags': { latest: packed.version }, versions: { [packed.version]: { ...manifest, dist } } }))
    }
    res.statusCode = 404
    res.end('{}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server, version: packed.version }
}

/**
 * Builds the recipe's Dockerfile (examples/deploy/docker) FROM the local base
 * image, with server.mjs and a package.json naming @lastcall/core, `npm ci`
 * run for real inside the build. Returns the build's duration.
 */
export async function buildRecipeImage(engine: Engine): Promise<number> {
  const ctx = mkdtempSync(join(tmpdir(), 'lastcall-recipe-'))
  const registry = await coreRegistry(ctx)
  try {
    copyFileSync(join(repo, 'examples', 'deploy', 'docker', 'Dockerfile'), join(ctx, 'Dockerfile'))
    copyFileSync(join(repo, 'examples', 'deploy', 'server.mjs'), join(ctx, 'server.mjs'))
    // Never the tarball nor a lockfile from elsewhere in the image.
    writeFileSync(join(ctx, '.dockerignore'), '*.tgz\nnode_modules\n')
    writeFileSync(join(ctx, 'package.json'), JSON.stringify({ name: 'lastcall-recipe', private: true, type: 'module', dependencies: { '@lastcall/core': registry.version } }, null, 2))
    await run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--registry', registry.url], { cwd: ctx, timeout: 60_000 })
    const t0 = performance.now()
    await engine.docker(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE_IMAGE}`, '--build-arg', `NPM_CONFIG_REGISTRY=${registry.url}`, '-t', RECIPE_IMAGE, ctx], { timeoutMs: 180_000 })
    return Math.round(performance.now() - t0)
  } finally {
    registry.server.close()
    rmSync(ctx, { recursive: true, force: true })
  }
}
