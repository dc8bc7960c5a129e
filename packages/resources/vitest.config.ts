import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@lastcall/source'] },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  test: {
    name: 'resources',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every file shares the same real servers; one file at a time keeps them from stepping on each other.
    fileParallelism: false,
  },
})
