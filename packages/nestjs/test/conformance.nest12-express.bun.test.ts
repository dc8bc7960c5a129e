import { runConformance } from '@lastcall/test-kit'
import { nestAdapter } from './harness.js'

runConformance(nestAdapter('express'), { runtime: 'bun' })
