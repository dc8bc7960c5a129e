import { describeNativeResponses } from '@lastcall/test-kit/native-server'
import { denoServeAdapter } from './harness.js'

describeNativeResponses(denoServeAdapter(), 'deno')
