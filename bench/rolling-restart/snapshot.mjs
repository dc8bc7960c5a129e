// The code under test, frozen for one run. The variants load the built
// @lastcall packages (packages/*/dist); in a working checkout a build can
// rewrite or briefly remove dist/ at any moment (another build, a watcher, a
// test pipeline), which would swap the code mid-run or stop an instance from
// starting. So the run copies app.mjs, variants/ and the built packages to a
// temp dir once, and every instance starts from that copy. Dependencies stay
// where pnpm put them (symlinks); only @lastcall/* point into the copy.
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const BUILT = ['index.mjs', 'index.cjs']

/**
 * @param {object} o
 * @param {string} o.root the repository
 * @param {string[]} o.packages package directories under packages/ to freeze
 * @param {string} o.dir an empty temp dir to build the copy in
 * @returns {Promise<{ variantsDir: string, builtAt: Record<string, string> }>}
 */
export async function snapshot({ root, packages, dir }) {
  const dists = packages.map((p) => join(root, 'packages', p, 'dist'))
  const stamp = () => dists.map((d) => BUILT.map((f) => (existsSync(join(d, f)) ? statSync(join(d, f)).mtimeMs : -1)).join(',')).join(';')
  // A build in progress shows as missing files or a stamp that moves under
  // the copy: wait for a quiet second, bounded.
  for (let attempt = 0; ; attempt++) {
    const before = stamp()
    if (!before.includes('-1')) {
      rmSync(join(dir, 'packages'), { recursive: true, force: true })
      for (const p of packages) {
        mkdirSync(join(dir, 'packages', p), { recursive: true })
        cpSync(join(root, 'packages', p, 'package.json'), join(dir, 'packages', p, 'package.json'))
        cpSync(join(root, 'packages', p, 'dist'), join(dir, 'packages', p, 'dist'), { recursive: true })
      }
      await sleep(1000)
      if (stamp() === before) break
    }
    if (attempt >= 60) throw new Error(`packages/*/dist is missing or keeps changing (${packages.join(', ')}): build once with pnpm -r --filter './packages/*' build`)
    await sleep(1000)
  }
  for (const p of packages) linkModules(join(root, 'packages', p, 'node_modules'), join(dir, 'packages', p, 'node_modules'), dir, packages)
  const bench = join(root, 'bench')
  cpSync(join(bench, 'rolling-restart', 'app.mjs'), join(dir, 'bench', 'rolling-restart', 'app.mjs'))
  cpSync(join(bench, 'rolling-restart', 'variants'), join(dir, 'bench', 'rolling-restart', 'variants'), { recursive: true })
  cpSync(join(bench, 'package.json'), join(dir, 'bench', 'package.json'))
  linkModules(join(bench, 'node_modules'), join(dir, 'bench', 'node_modules'), dir, packages)
  const builtAt = Object.fromEntries(packages.map((p) => [p, new Date(statSync(join(root, 'packages', p, 'dist', 'index.mjs')).mtimeMs).toISOString()]))
  return { variantsDir: join(dir, 'bench', 'rolling-restart', 'variants'), builtAt }
}

/**
 * A node_modules of symlinks to the original's real paths, except the frozen
 * @lastcall packages, which point into the copy.
 * @param {string} from @param {string} to @param {string} dir @param {string[]} packages
 */
function linkModules(from, to, dir, packages) {
  mkdirSync(join(to, '@lastcall'), { recursive: true })
  if (!existsSync(from)) return
  for (const name of readdirSync(from)) {
    if (name.startsWith('.')) continue
    if (name === '@lastcall') {
      for (const scoped of readdirSync(join(from, name))) {
        const target = packages.includes(scoped) ? join(dir, 'packages', scoped) : realpathSync(join(from, name, scoped))
        symlinkSync(target, join(to, name, scoped), 'dir')
      }
      continue
    }
    symlinkSync(realpathSync(join(from, name)), join(to, name), 'dir')
  }
}
