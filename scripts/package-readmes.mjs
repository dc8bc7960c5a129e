// Every published package's README.md holds its options tables between markers:
//   <!-- options packages/core/src/options.ts ShutdownOptions -->  ...  <!-- end options -->
// This script rewrites each table from the TSDoc of that interface (its
// description, type and `@default`), with the TypeScript compiler's parser, so a
// README cannot drift from the code: an option added, renamed or re-defaulted
// in the source changes the table. `--check` (run by `pnpm lint`) fails instead
// of writing when a table is stale, when an option has no description or no
// `@default`, when a published package has no README.md, or when a relative
// link in one does not resolve.
//   node scripts/package-readmes.mjs [--check]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { publishedPackages } from './workspace.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const ts = createRequire(join(root, 'package.json'))('typescript')
const check = process.argv.includes('--check')
const problems = []

/** Every `interface` declared in a package's src/, by name, so `extends` can be followed across its files. */
function interfacesOf(srcDir) {
  const found = new Map()
  for (const name of readdirSync(srcDir, { recursive: true })) {
    if (!String(name).endsWith('.ts')) continue
    const file = join(srcDir, String(name))
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    source.forEachChild((node) => {
      if (ts.isInterfaceDeclaration(node)) found.set(node.name.text, { node, source, file })
    })
  }
  return found
}

/** The text of a JSDoc comment (which may be a string or a list of parts with {@link}s). */
const commentText = (comment) => (comment === undefined ? '' : typeof comment === 'string' ? comment : comment.map((part) => part.text).join(''))

/** An interface's properties, inherited ones (from the same package) after its own, each with its TSDoc. */
function optionsOf(name, interfaces, where) {
  const entry = interfaces.get(name)
  if (!entry) {
    problems.push(`${where}: no interface ${name} in the package's src/`)
    return []
  }
  const { node, source, file } = entry
  const own = node.members.filter(ts.isPropertySignature).map((member) => {
    const doc = member.jsDoc?.at(-1)
    const defaultTag = ts.getJSDocTags(member).find((tag) => tag.tagName.text === 'default')
    const option = {
      required: member.questionToken === undefined,
      name: member.name.getText(source),
      type: member.type ? member.type.getText(source).replace(/\s+/g, ' ') : 'unknown',
      description: commentText(doc?.comment).trim(),
      default: defaultTag ? commentText(defaultTag.comment).trim() : undefined,
    }
    const at = `${relative(root, file)} ${name}.${option.name}`
    if (!option.description) problems.push(`${at} has no TSDoc description`)
    if (option.default === undefined && !option.required) problems.push(`${at} has no @default`)
    return option
  })
  const inherited = (node.heritageClauses ?? []).flatMap((clause) => clause.types.map((t) => t.expression.getText(source)))
  return [...own, ...inherited.flatMap((parent) => optionsOf(parent, interfaces, where).filter((o) => !own.some((p) => p.name === o.name)))]
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ')

function table(options) {
  const rows = options.map((o) => `| \`${o.name}\` | \`${cell(o.type)}\` | ${o.required ? 'required' : cell(o.default ?? '')} | ${cell(o.description.split(/\n\s*\n/)[0])} |`)
  return ['| Option | Type | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

// Every package of the workspace that is not private (scripts/workspace.mjs).
for (const { dir: pkgDir, rel } of publishedPackages()) {
  const dir = rel.replace(/^packages\//, '')
  const readme = join(pkgDir, 'README.md')
  if (!existsSync(readme)) {
    problems.push(`packages/${dir} is published but has no README.md`)
    continue
  }
  const before = readFileSync(readme, 'utf8')
  const cache = new Map()
  const after = before.replace(/<!-- options (\S+) (\w+) -->\n[\s\S]*?<!-- end options -->/g, (_all, srcFile, name) => {
    const srcDir = join(root, srcFile.split('/src/')[0], 'src')
    if (!cache.has(srcDir)) cache.set(srcDir, interfacesOf(srcDir))
    return `<!-- options ${srcFile} ${name} -->\n${table(optionsOf(name, cache.get(srcDir), `packages/${dir}/README.md`))}\n<!-- end options -->`
  })
  for (const [, target] of before.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue
    if (!existsSync(join(pkgDir, target.split('#')[0]))) problems.push(`packages/${dir}/README.md links ${target}, which does not exist`)
  }
  if (after === before) continue
  if (check) problems.push(`packages/${dir}/README.md: an options table is out of date with the TSDoc: run \`node scripts/package-readmes.mjs\``)
  else {
    writeFileSync(readme, after)
    console.log(`packages/${dir}/README.md updated`)
  }
}

for (const problem of problems) console.error(problem)
if (problems.length > 0) process.exit(1)
console.log('package READMEs agree with the TSDoc')
