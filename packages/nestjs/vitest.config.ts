import { configDefaults, defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@lastcall/source'] },
  ssr: { resolve: { conditions: ['@lastcall/source'] } },
  test: {
    name: 'nestjs',
    include: ['test/**/*.test.ts'],
    // Nest 11's conformance files belong to the nestjs-11 project (vitest.nest11.config.ts).
    exclude: [...configDefaults.exclude, 'test/conformance.nest11-*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
})
