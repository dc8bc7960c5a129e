import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

// @lastcall/nestjs's tests again, on Nest 11 (installed in test/nest11, a
// private workspace package): the conformance suite on both platforms and the
// child-process lifecycle tests. In this process Vite's alias puts Nest 11 in
// place of the workspace's Nest 12; in the fixtures' child processes, started
// with this environment, Node's module hooks do (test/nest11/hooks.mjs).
const nest11 = fileURLToPath(new URL('./test/nest11/', import.meta.url))

export default defineProject({
  resolve: {
    conditions: ['@lastcall/source'],
    alias: [{ find: /^@nestjs\/(common|core|platform-express|platform-fastify)(\/.*)?$/, replacement: `${nest11}node_modules/@nestjs/$1$2` }],
  },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  test: {
    name: 'nestjs-11',
    include: ['test/conformance.nest11-*.test.ts', 'test/lifecycle.test.ts'],
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${nest11}register.mjs`.trim(), LASTCALL_NEST_MAJOR: '11' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
