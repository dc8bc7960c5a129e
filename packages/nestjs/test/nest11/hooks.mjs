// Node module hooks for child processes of the nestjs-11 test project (the
// fixtures, run by tsx): `@nestjs/*` imported from the adapter's source or the
// tests resolves as if imported from this folder, where Nest 11 is installed.
// Nest's own modules (under node_modules) resolve their imports as usual, each
// to its Nest 11 neighbours.
const NEST = /^@nestjs\/(?:common|core|platform-express|platform-fastify)(?:\/|$)/
const HERE = new URL('./package.json', import.meta.url).href

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, next) {
  if (NEST.test(specifier) && !context.parentURL?.includes('/node_modules/')) return next(specifier, { ...context, parentURL: HERE })
  return next(specifier, context)
}
