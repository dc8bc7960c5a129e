import express from 'express'
import { runConformance } from '@lastcall/test-kit'
import { expressAdapter } from './harness.js'

runConformance(expressAdapter(5, express), { runtime: 'bun' })
