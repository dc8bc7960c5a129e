import { runConformance } from '@lastcall/test-kit'
import { denoServeAdapter } from './harness.js'

runConformance(denoServeAdapter(), { runtime: 'deno' })
