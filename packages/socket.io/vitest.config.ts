import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@lastcall/source'] },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  test: {
    name: 'socket.io',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
