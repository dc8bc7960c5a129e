import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts'],
    // Real sockets and child processes: two workers fit two cores.
    maxWorkers: 2,
  },
})
