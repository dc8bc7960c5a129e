import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@lastcall/source'] },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  // The demo forks servers and puts real load on them: give it time.
  test: { name: 'example-demo', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 20_000 },
})
