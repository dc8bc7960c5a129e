import nestCore from '@nestjs/core/package.json' with { type: 'json' }

/**
 * The version of the Nest these tests run on: the workspace's Nest 12, or
 * Nest 11 in the nestjs-11 project (vitest.nest11.config.ts), whose alias
 * resolves this import too.
 */
export const NEST_VERSION: string = nestCore.version

/** The major the project means to test: `LASTCALL_NEST_MAJOR` (set by the nestjs-11 project), else 12. */
export const EXPECTED_NEST_MAJOR = Number(process.env.LASTCALL_NEST_MAJOR ?? 12)
