import express from 'express4'
import { describe, expectTypeOf, it } from 'vitest'
import { gracefulShutdown } from '../src/index.js'

// Express 4 with its own types (@types/express 4, installed as @types/express4).
describe('types with Express 4', () => {
  it('the middleware fits app.use, and req.lastcall.signal is typed', () => {
    const app = express()
    const shutdown = gracefulShutdown()
    app.use(shutdown)
    app.get('/', (req, res) => {
      expectTypeOf(req.lastcall.signal).toEqualTypeOf<AbortSignal>()
      res.end()
    })
    shutdown.attach(app.listen(0))
  })
})
