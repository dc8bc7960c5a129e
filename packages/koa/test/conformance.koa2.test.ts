import Koa from 'koa2'
import { runConformance } from '@lastcall/test-kit'
import { koaAdapter } from './harness.js'

runConformance(koaAdapter(2, Koa))
