import express from 'express4'
import { runConformance } from '@lastcall/test-kit'
import { expressAdapter } from './harness.js'

runConformance(expressAdapter(4, express))
