// The global setup of a pinned-peers test project (project.mjs): before any test
// runs, checks that each pinned package is the version its private workspace
// package pins, both where Vite's alias points the test process and where a child
// process started with the project's environment resolves it, and prints them.
// A mismatch (a lockfile that drifted, a hook that did not load) fails the run
// rather than testing the workspace's versions under the floor's name.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const versionOf = (file) => JSON.parse(readFileSync(file, 'utf8')).version

/** Prints, for each name, the version a module outside node_modules gets (through the hooks in NODE_OPTIONS). */
const CHILD = `
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
const names = JSON.parse(process.env.LASTCALL_PINNED_PEERS).names
const out = {}
for (const name of names) {
  const file = fileURLToPath(import.meta.resolve(name))
  const marker = '/node_modules/' + name + '/'
  out[name] = JSON.parse(readFileSync(file.slice(0, file.lastIndexOf(marker) + marker.length) + 'package.json', 'utf8')).version
}
console.log(JSON.stringify(out))
`

/** @param {import('vitest/node').TestProject} project */
export default function setup(project) {
  const env = project.config.env
  const { from, names } = JSON.parse(env.LASTCALL_PINNED_PEERS)
  const dir = new URL('.', from)
  const pins = JSON.parse(readFileSync(new URL(from), 'utf8')).dependencies
  const aliased = Object.fromEntries(names.map((name) => [name, versionOf(fileURLToPath(new URL(`node_modules/${name}/package.json`, dir)))]))
  const child = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: project.config.root, env: { ...process.env, ...env }, encoding: 'utf8' }))
  const wrong = names.filter((name) => aliased[name] !== pins[name] || child[name] !== pins[name])
  if (wrong.length > 0) {
    throw new Error(`${project.name}: pinned ${wrong.map((name) => `${name}@${pins[name]}`).join(', ')}, but the test process gets ${wrong.map((n) => aliased[n]).join(', ')} and a child process ${wrong.map((n) => child[n]).join(', ')}`)
  }
  console.log(`${project.name}: ${names.map((name) => `${name} ${pins[name]}`).join(', ')} (in the tests and in their child processes)`)
}
