/**
 * Which JavaScript runtime runs a fixture app. The test runner itself always
 * runs on Node; only the app under test moves. `node` is the Node running the
 * tests (`process.execPath`, so a CI run on another major uses that major);
 * `bun` and `deno` are the pinned binaries `scripts/runtime.sh` installs from
 * the npm registry (see docs/runtimes.md).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export type Runtime = 'node' | 'bun' | 'deno'

export const RUNTIMES: readonly Runtime[] = ['node', 'bun', 'deno']

/** The command that runs a TypeScript fixture, or why it cannot run here. */
export type RuntimeCommand = { command: string[]; skip?: undefined } | { command?: undefined; skip: string }

const SOURCE = '--conditions=@lastcall/source'
const script = join(import.meta.dirname, '..', '..', '..', 'scripts', 'runtime.sh')
const resolved = new Map<Runtime, RuntimeCommand>()

/**
 * The runtime fixtures run on when a test does not say: `LASTCALL_FIXTURE_RUNTIME`
 * (`node`, `bun` or `deno`), else `node`.
 */
export function defaultRuntime(): Runtime {
  const wanted = process.env.LASTCALL_FIXTURE_RUNTIME
  if (wanted === undefined || wanted === '') return 'node'
  if (!(RUNTIMES as readonly string[]).includes(wanted)) throw new TypeError(`LASTCALL_FIXTURE_RUNTIME must be one of ${RUNTIMES.join(', ')}; received "${wanted}"`)
  return wanted as Runtime
}

/**
 * How to run `file` (TypeScript, source condition) on `runtime`. Installs Bun or
 * Deno on first use (a few seconds, once per machine); when that fails, the
 * answer is the reason to skip with.
 */
export function fixtureCommand(runtime: Runtime, file: string): RuntimeCommand {
  const base = runtimePrefix(runtime)
  return base.skip === undefined ? { command: [...base.command, file] } : base
}

function runtimePrefix(runtime: Runtime): RuntimeCommand {
  let found = resolved.get(runtime)
  if (found !== undefined) return found
  if (runtime === 'node') found = { command: [process.execPath, '--import', 'tsx', SOURCE] }
  else {
    try {
      const bin = execFileSync(script, [runtime], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim()
      // Deno resolves `./x.js` to `./x.ts` (as tsc and Bun do) only with sloppy imports.
      found = { command: runtime === 'bun' ? [bin, SOURCE] : [bin, 'run', '-A', '--sloppy-imports', SOURCE] }
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim()
      found = { skip: `${runtime} unavailable: ${stderr.split('\n').at(-1) || (error as Error).message}` }
    }
  }
  resolved.set(runtime, found)
  return found
}
