import { runConformance } from '../src/index.js'
import { coreAdapter } from './harness.js'

runConformance(coreAdapter, { runtime: 'bun' })
