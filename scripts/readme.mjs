// The README is the front door: a short page that links the guides in docs/.
// This check keeps the two from drifting apart:
//   - every page in docs/ is linked from README.md (a guide nobody can find is a guide nobody reads);
//   - every relative link in README.md and docs/ points to a file that exists.
// `node scripts/readme.mjs` prints what is wrong; `--check` also fails on it (CI, `pnpm lint`).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const docs = join(root, 'docs')
const readme = join(root, 'README.md')
const problems = []

const pages = readdirSync(docs).filter((name) => name.endsWith('.md'))
const readmeText = readFileSync(readme, 'utf8')
for (const page of pages) {
  if (!readmeText.includes(`](docs/${page})`)) problems.push(`README.md does not link docs/${page}`)
}

for (const file of [readme, ...markdownUnder(docs)]) {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue
    const path = join(dirname(file), decodeURIComponent(target.split('#')[0]))
    if (!existsSync(path)) problems.push(`${relative(root, file)} links ${target}, which does not exist`)
  }
}

for (const problem of problems) console.error(problem)
if (problems.length > 0 && process.argv.includes('--check')) process.exit(1)
if (problems.length === 0) console.log(`README.md and docs/ agree (${pages.length} pages linked)`)

function markdownUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return markdownUnder(path)
    return entry.name.endsWith('.md') ? [path] : []
  })
}
