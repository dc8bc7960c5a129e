// Pinned peers: a package's tests run again on other versions of the libraries
// it integrates with (the lowest its peer ranges allow, or an older major),
// installed in a private workspace package, e.g. packages/grpc/test/floor. The
// package's vitest.floor.config.ts is its own project config passed through
// pinnedPeersProject(): the same files and settings, under another name. In the
// test process, Vite's alias puts the pinned packages in place of the
// workspace's; in child processes (fixtures), started with the project's
// environment, Node's module hooks do (hooks.mjs). The versions that load, here
// and in a child, are checked before the tests by the project's global setup
// (versions.mjs).
import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'

const register = fileURLToPath(new URL('./register.mjs', import.meta.url))
const globalSetup = fileURLToPath(new URL('./versions.mjs', import.meta.url))

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/**
 * @param {URL} dir the private workspace package's folder (ending in '/')
 * @param {string[]} names the packages it pins, each a dependency in its package.json
 * @returns {{ alias: { find: RegExp, replacement: string }[], env: Record<string, string>, globalSetup: string }}
 */
export function pinnedPeers(dir, names) {
  const folder = fileURLToPath(dir)
  return {
    alias: names.map((name) => ({ find: new RegExp(`^${escape(name)}(/.*)?$`), replacement: `${folder}node_modules/${name}$1` })),
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${register}`.trim(),
      LASTCALL_PINNED_PEERS: JSON.stringify({ from: new URL('package.json', dir).href, names }),
    },
    globalSetup,
  }
}

/**
 * `base` (the package's project config) again as the project `name`, with the packages `names` taken from `dir`.
 * @template {import('vitest/config').UserWorkspaceConfig} T
 * @param {T} base
 * @param {{ name: string, dir: URL, names: string[] }} pinned
 * @returns {T}
 */
export function pinnedPeersProject(base, { name, dir, names }) {
  const { alias, env, globalSetup } = pinnedPeers(dir, names)
  return mergeConfig(base, { resolve: { alias }, test: { name, env, globalSetup: [globalSetup] } })
}
