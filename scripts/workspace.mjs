// The workspace's packages, read from pnpm-workspace.yaml, so that every
// script that walks "the published packages" (consumer tests, package READMEs,
// the API reference) covers a package the day it is added.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The `packages:` globs of pnpm-workspace.yaml (`dir/*` or a plain folder; the only shapes this repository uses). */
function workspaceGlobs() {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
  const block = /^packages:\s*\n((?:[ \t]+-[^\n]*\n?)+)/m.exec(text)
  if (!block) throw new Error('pnpm-workspace.yaml has no packages: list')
  return [...block[1].matchAll(/-\s*['"]?([^'"\n#]+?)['"]?\s*(?:#.*)?$/gm)].map((m) => m[1])
}

/** Every workspace package: `{ dir (absolute), rel (from the root), pkg (its package.json) }`, sorted by folder. */
export function workspacePackages() {
  const dirs = workspaceGlobs().flatMap((glob) => {
    if (glob.startsWith('!')) return []
    if (glob.endsWith('/*')) {
      const parent = join(root, glob.slice(0, -2))
      return existsSync(parent) ? readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(glob.slice(0, -2), d.name)) : []
    }
    if (glob.includes('*')) throw new Error(`pnpm-workspace.yaml: ${glob}: only "dir/*" globs are understood by scripts/workspace.mjs`)
    return [glob]
  })
  return dirs
    .filter((rel) => existsSync(join(root, rel, 'package.json')))
    .sort()
    .map((rel) => ({ rel, dir: join(root, rel), pkg: JSON.parse(readFileSync(join(root, rel, 'package.json'), 'utf8')) }))
}

/** The packages that are published to npm: workspace packages not marked `private`. */
export function publishedPackages() {
  return workspacePackages().filter(({ pkg }) => !pkg.private)
}

/**
 * A published package's public entry points: each `exports` subpath (not
 * `./package.json`) with the source file it is built from (its
 * `@lastcall/source` condition). `[{ subpath: '.', specifier: '@lastcall/core', source: 'src/index.ts' }]`
 */
export function entryPoints(pkg) {
  const exportsField = typeof pkg.exports === 'string' || pkg.exports?.['@lastcall/source'] ? { '.': pkg.exports } : (pkg.exports ?? {})
  return Object.entries(exportsField)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => {
      return { subpath, specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, source: sourceOf(target) }
    })
}

/** The TypeScript source an export target is built from: its `@lastcall/source` condition, a `.ts` target itself, or `src/<name>.ts` for `dist/<name>.*`. */
function sourceOf(target) {
  const strings = []
  const walk = (value) => {
    if (typeof value === 'string') strings.push(value)
    else if (value && typeof value === 'object') Object.values(value).forEach(walk)
  }
  if (target && typeof target === 'object' && typeof target['@lastcall/source'] === 'string') return target['@lastcall/source'].replace(/^\.\//, '')
  walk(target)
  const ts = strings.find((s) => /\.[cm]?tsx?$/.test(s) && !/\.d\.[cm]?ts$/.test(s))
  if (ts) return ts.replace(/^\.\//, '')
  const built = strings.map((s) => /^\.\/dist\/(.+?)\.(?:d\.)?[cm]?[jt]s$/.exec(s)).find(Boolean)
  return built ? `src/${built[1]}.ts` : undefined
}
