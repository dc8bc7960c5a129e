import { runConformance } from '@lastcall/test-kit'
import { nestAdapter } from './harness.js'

runConformance(nestAdapter('fastify'), { runtime: 'deno' })
