import Koa from 'koa'
import { runConformance } from '@lastcall/test-kit'
import { koaAdapter } from './harness.js'

runConformance(koaAdapter(3, Koa), { runtime: 'deno' })
