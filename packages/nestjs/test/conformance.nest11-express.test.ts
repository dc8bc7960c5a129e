import { runConformance } from '@lastcall/test-kit'
import { nestAdapter } from './harness.js'

// Nest 11 in place of Nest 12: run by the nestjs-11 project (vitest.nest11.config.ts).
runConformance(nestAdapter('express'))
