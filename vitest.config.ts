import { defineConfig } from 'vitest/config'

// CI asks for a machine-readable report beside the usual output.
const json = process.env.LASTCALL_TEST_JSON

export default defineConfig({
  test: {
    // nestjs-11: @lastcall/nestjs's tests again on Nest 11 (packages/nestjs/vitest.nest11.config.ts).
    // *-floor: a package's tests again on the lowest versions its peer ranges allow (packages/*/vitest.floor.config.ts).
    projects: ['packages/*/vitest.config.ts', 'packages/nestjs/vitest.nest11.config.ts', 'packages/*/vitest.floor.config.ts', 'examples/*/vitest.config.ts', 'bench/vitest.config.ts'],
    // Real sockets and child processes: two workers fit two cores.
    maxWorkers: 2,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
})
