import { runConformance } from '@lastcall/test-kit'
import { bunServeAdapter } from './harness.js'

runConformance(bunServeAdapter(), { runtime: 'bun' })
