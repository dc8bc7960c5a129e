// Installs the workspace with the pinned pnpm when it is not installed yet.
// Needs only Node and npm: pnpm comes from the npm registry through npx.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pinned = packageManager.split('@')[1]

function pnpmVersion() {
  const r = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

if (pnpmVersion() !== pinned) {
  console.log(`[setup] installing pnpm ${pinned} with npm`)
  execFileSync('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${pinned}`], { stdio: 'inherit' })
}
if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
  console.log('[setup] installing dependencies')
  execFileSync('pnpm', ['install', '--frozen-lockfile'], { cwd: root, stdio: 'inherit' })
}
