import { runConformance } from '@lastcall/test-kit'
import { honoAdapter } from './harness.js'

runConformance(honoAdapter(), { runtime: 'deno' })
