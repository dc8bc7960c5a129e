import { runConformance } from '@lastcall/test-kit'
import { fastifyAdapter } from './harness.js'

runConformance(fastifyAdapter, { runtime: 'deno' })
