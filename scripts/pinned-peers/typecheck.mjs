// Typechecks a package's published declarations (dist/*.d.mts, *.d.cts) against
// the pinned versions of its peers: `node scripts/pinned-peers/typecheck.mjs <dir>`,
// where <dir> holds the private workspace package and a tsconfig.json whose `paths`
// point each peer at its node_modules (see packages/grpc/test/floor). Run after the
// build (each package's lint:pkg). As in scripts/consumers.mjs, errors inside
// third-party declarations (a pinned package's own types read by a newer
// TypeScript, or through another pinned package) are printed, not counted.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { promisify } from 'node:util'

const dir = resolve(process.argv[2] ?? '.')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const output = await promisify(execFile)(process.execPath, [tsc, '-p', resolve(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir }).then(
  ({ stdout }) => stdout,
  (error) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
)
const errors = output.split('\n').filter((line) => /error TS\d+/.test(line))
const theirs = errors.filter((line) => line.includes('node_modules/'))
const ours = errors.filter((line) => !theirs.includes(line))
if (theirs.length > 0) console.log(`note: ${theirs.length} error(s) in third-party declarations, not counted:\n  ${theirs.join('\n  ')}`)
if (ours.length > 0) {
  console.error(ours.join('\n'))
  process.exitCode = 1
} else console.log(`${dir}: the declarations typecheck against the pinned peers`)
