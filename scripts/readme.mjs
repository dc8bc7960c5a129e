// The README's long sections live in docs/*.md (one file per subject, easier to
// review) and are copied into README.md between include markers:
//   <!-- include docs/probes.md -->  ...  <!-- end include -->
// `node scripts/readme.mjs` rewrites README.md; `--check` fails when it is stale (CI).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const file = join(root, 'README.md')
const before = readFileSync(file, 'utf8')
const after = before.replace(/<!-- include (\S+) -->\n[\s\S]*?<!-- end include -->/g, (_all, path) => {
  const source = join(root, path)
  if (!existsSync(source)) throw new Error(`README includes ${path}, which does not exist`)
  return `<!-- include ${path} -->\n${readFileSync(source, 'utf8').trimEnd()}\n<!-- end include -->`
})
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md is out of date with docs/: run `node scripts/readme.mjs`')
    process.exit(1)
  }
} else if (after !== before) {
  writeFileSync(file, after)
  console.log('README.md updated')
}
