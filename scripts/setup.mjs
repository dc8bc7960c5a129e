// `npm run demo` / `npm test` on a machine with only Node and npm: installs the
// workspace with the pinned pnpm, then runs the given workspace script with it.
//   node scripts/setup.mjs [run <script> [-- args]]
// pnpm comes from the npm registry: a global install when npm may write there,
// else `npx pnpm@<pinned>` for every call (no root needed).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pinned = packageManager.split('@')[1]
const shell = process.platform === 'win32'

function run(command, args, { quiet = false } = {}) {
  return spawnSync(command, args, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8', shell })
}

function pnpmCommand() {
  if (run('pnpm', ['--version'], { quiet: true }).stdout?.trim() === pinned) return ['pnpm']
  console.error(`[setup] installing pnpm ${pinned} with npm`)
  if (run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${pinned}`]).status === 0 && run('pnpm', ['--version'], { quiet: true }).stdout?.trim() === pinned) {
    return ['pnpm']
  }
  console.error(`[setup] no global install possible here: using npx pnpm@${pinned}`)
  return ['npx', '--yes', `pnpm@${pinned}`]
}

const [cmd, ...pre] = pnpmCommand()
const pnpm = (args) => {
  const r = run(cmd, [...pre, ...args])
  if (r.status !== 0) process.exit(r.status ?? 1)
}
if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
  console.error('[setup] installing dependencies')
  pnpm(['install', '--frozen-lockfile'])
}
const [verb, script, ...rest] = process.argv.slice(2)
if (verb === 'run' && script) pnpm(['--silent', 'run', script, ...rest])
