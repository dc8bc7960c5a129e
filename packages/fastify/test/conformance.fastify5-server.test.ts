import { runConformance } from '@lastcall/test-kit'
import { fastifyServerAdmissionAdapter } from './harness.js'

runConformance(fastifyServerAdmissionAdapter)
