import type { DynamicModule, INestApplication } from '@nestjs/common'
import type { NestExpressApplication } from '@nestjs/platform-express'
import type { Request } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { LastcallModule, LastcallService, LastcallSignal, enableLastcall, type LastcallRequestContext, type ShutdownController } from '../src/index.js'

describe('types', () => {
  it('forRoot and forRootAsync return dynamic modules; options are checked', () => {
    expectTypeOf(LastcallModule.forRoot({ readinessDelayMs: 5_000 })).toEqualTypeOf<DynamicModule>()
    expectTypeOf(LastcallModule.forRootAsync({ inject: ['CONFIG'], useFactory: (config: { ms: number }) => ({ drainTimeoutMs: config.ms }) })).toEqualTypeOf<DynamicModule>()
    // @ts-expect-error: a number
    LastcallModule.forRoot({ idleLingerMs: 'soon' })
  })

  it('LastcallService is the controller, as a type and as an injection token', () => {
    expectTypeOf<LastcallService>().toEqualTypeOf<ShutdownController>()
    const app = {} as INestApplication
    expectTypeOf(app.get(LastcallService)).toEqualTypeOf<ShutdownController>()
  })

  it('enableLastcall returns the app with its own type', () => {
    expectTypeOf(enableLastcall({} as NestExpressApplication)).toEqualTypeOf<NestExpressApplication>()
  })

  it('req.lastcall is typed on Express requests; @LastcallSignal() is a parameter decorator', () => {
    expectTypeOf<Request['lastcall']>().toEqualTypeOf<LastcallRequestContext>()
    expectTypeOf(LastcallSignal()).toEqualTypeOf<ParameterDecorator>()
  })
})
