// The API reference, generated from the TSDoc with TypeDoc: every public entry
// point of every published package (each `exports` subpath's source, read from
// the workspace by scripts/workspace.mjs, so a new package is covered without
// editing this file).
//
//   node scripts/api-docs.mjs --check      validate only (run by `pnpm lint`): fails when an
//                                          exported symbol, an option or any other public member has
//                                          no TSDoc, when a {@link} does not resolve, or when a
//                                          public type names a type no entry point exports
//   node scripts/api-docs.mjs --update     rewrite scripts/api-undocumented.txt (below) to what is undocumented now
//   node scripts/api-docs.mjs [--out DIR]  also write the HTML reference (default: docs/api/, not
//                                          checked in: `pnpm docs:api`, then open docs/api/index.html)
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { Application, Converter, LogLevel, ReflectionKind } from 'typedoc'
import { entryPoints, publishedPackages, root } from './workspace.mjs'

const args = process.argv.slice(2)
const update = args.includes('--update')
const check = args.includes('--check') || update
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'docs', 'api')
const started = Date.now()

const entries = []
const problems = []
for (const { rel, pkg } of publishedPackages()) {
  for (const entry of entryPoints(pkg)) {
    if (!entry.source) problems.push(`${rel}/package.json: exports["${entry.subpath}"] names no TypeScript source (a "@lastcall/source" condition)`)
    else entries.push({ ...entry, file: join(root, rel, entry.source) })
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  process.exit(1)
}

// One TypeScript program for all entry points (one program is much faster than
// one per package); the workspace's own packages resolve to their sources
// through the "@lastcall/source" condition of tsconfig.base.json.
const cache = join(root, '.cache')
mkdirSync(cache, { recursive: true })
const tsconfig = join(cache, 'tsconfig.api.json')
writeFileSync(tsconfig, JSON.stringify({ extends: '../tsconfig.base.json', compilerOptions: { noEmit: true }, files: entries.map((e) => relative(cache, e.file)) }, null, 2))

const REPOSITORY = JSON.parse(readFileSync(join(root, 'packages', 'core', 'package.json'), 'utf8')).repository.url.replace(/^git\+/, '').replace(/\.git$/, '')

const app = await Application.bootstrapWithPlugins({
  name: 'lastcall',
  entryPoints: entries.map((e) => e.file),
  entryPointStrategy: 'resolve',
  tsconfig,
  // `pnpm typecheck` typechecks every package with its tests; here the program holds the entry
  // points alone, where a type-only augmentation (`declare module 'koa'`) finds no import of its
  // module and TypeScript reports it. TypeDoc reads the declarations either way.
  skipErrorChecking: true,
  readme: 'none',
  // Source links to the repository every package.json names, whether or not this clone has a
  // remote (a clone without one made TypeDoc warn, and warnings fail the check).
  sourceLinkTemplate: `${REPOSITORY}/blob/{gitRevision}/{path}#L{line}`,
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  // @default is how every option here states its default (TypeDoc's own tag is @defaultValue).
  blockTags: [...(await import('typedoc')).OptionDefaults.blockTags, '@default'],
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  // TypeDoc requires documentation only in the project's own package by default (the first entry
  // point's): every published package must be documented, so every one is named.
  packagesRequiringDocumentation: [...new Set(publishedPackages().map(({ pkg }) => pkg.name))],
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
  logLevel: LogLevel.Warn,
})

// scripts/api-undocumented.txt lists the public symbols that had no TSDoc when this check was
// added, one a line. It only shrinks: a symbol not on it without TSDoc fails, and so does a
// symbol on it that has TSDoc now (take it off the list: `--update`).
const baselineFile = join(root, 'scripts', 'api-undocumented.txt')
const baseline = new Set(existsSync(baselineFile) ? readFileSync(baselineFile, 'utf8').split('\n').filter((line) => line && !line.startsWith('#')) : [])
const undocumented = new Set()
const specifiers = entries.map((e) => e.specifier)
const other = []
const log = app.logger.log.bind(app.logger)
app.logger.log = (message, level) => {
  // eslint-disable-next-line no-control-regex -- the console logger's colours
  const text = String(message).replace(/\x1b\[[0-9;]*m/g, '').replace(/^\[\w+\] /, '')
  const missing = / (\([A-Za-z]+\)), defined in (\S+), does not have any documentation$/.exec(text)
  if (missing && level >= LogLevel.Warn) {
    // `@lastcall/core ShutdownOptions.exit (Property)`: the package that declares it, its name without the module
    // (TypeDoc names a re-exported symbol after the first module that exports it, which changes when a package is
    // added) and its kind; not the file (a move inside a package is not a change).
    const full = text.slice(0, missing.index)
    const module = specifiers.filter((name) => full.startsWith(`${name}.`)).sort((a, b) => b.length - a.length)[0]
    const key = `${missing[2].split('/').slice(0, 2).join('/')} ${module ? full.slice(module.length + 1) : full} ${missing[1]}`
    undocumented.add(key)
    if (!baseline.has(key) && !update) log(message, level)
    return
  }
  if (level >= LogLevel.Warn) other.push(text)
  log(message, level)
}

// Modules under their published names (`@lastcall/core/adapter`), not their paths (`core/src/adapter`).
app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
  if (!reflection.kindOf(ReflectionKind.Module)) return
  const entry = entries.find((e) => e.file === context.program.getSourceFile(e.file)?.fileName && [e.file.replace(/\.ts$/, ''), e.file.replace(/\/index\.ts$/, '')].some((path) => path.endsWith(`/${reflection.name}`)))
  if (entry) reflection.name = entry.specifier
})

const project = await app.convert()
if (!project) {
  console.error('api: TypeDoc could not convert the packages (the errors above)')
  process.exit(1)
}
app.validate(project)
const added = [...undocumented].filter((name) => !baseline.has(name))
const documented = [...baseline].filter((name) => !undocumented.has(name))
if (update) {
  const header = '# Public symbols without TSDoc when scripts/api-docs.mjs began checking (it fails on any other, and on one of these once documented: then run `node scripts/api-docs.mjs --update`). Only shrinks.'
  writeFileSync(baselineFile, `${[header, ...[...undocumented].sort()].join('\n')}\n`)
  console.log(`api: ${relative(root, baselineFile)}: ${undocumented.size} undocumented (was ${baseline.size})`)
}
for (const name of update ? [] : documented) console.error(`[error] ${name} is documented now: take it off scripts/api-undocumented.txt (node scripts/api-docs.mjs --update)`)
const failed = other.length > 0 || (!update && (added.length > 0 || documented.length > 0))
if (!failed && !check) {
  rmSync(out, { recursive: true, force: true })
  await app.generateDocs(project, out)
}
const took = ((Date.now() - started) / 1000).toFixed(1)
if (failed) {
  console.error(`api: ${added.length} public symbol(s) without TSDoc, ${documented.length} listed as undocumented that are documented, ${other.length} other problem(s) (above): every public export, option and member needs a comment (${took} s)`)
  process.exit(1)
}
console.log(`api: ${entries.length} entry points of ${new Set(entries.map((e) => e.specifier.split('/').slice(0, 2).join('/'))).size} packages checked, ${undocumented.size} symbols still on scripts/api-undocumented.txt${check ? '' : `, reference written to ${relative(root, out) || out}`} (${took} s)`)
