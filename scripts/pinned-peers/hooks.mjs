// Node module hooks for the child processes of a pinned-peers test project
// (project.mjs): a pinned package imported from lastcall's source, the tests or
// their fixtures resolves as if imported from the private workspace package that
// pins it. Modules under node_modules resolve their imports as usual, so a
// pinned package's own imports reach its own neighbours.

/** @type {URL} */
let from
/** @type {readonly string[]} */
let names = []

/** @param {{ from: string, names: string[] }} data */
export function initialize(data) {
  from = new URL(data.from)
  names = data.names
}

const pinned = (specifier) => names.some((name) => specifier === name || specifier.startsWith(`${name}/`))

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, next) {
  if (pinned(specifier) && !context.parentURL?.includes('/node_modules/')) return next(specifier, { ...context, parentURL: from.href })
  return next(specifier, context)
}
