import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@lastcall/source'] },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  test: {
    name: 'bun',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
