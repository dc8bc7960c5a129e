// The demo service on NestJS (Express platform) with @lastcall/nestjs: the
// routes of app.mjs as a Nest controller. Run by `demo.mjs --framework nestjs`
// in a child process; also runnable alone: `node servers/nestjs.mjs`. Same
// stdout protocol as servers/core.mjs. Plain JavaScript has no decorators:
// Reflect.decorate applies Nest's, as TypeScript's output does.
import 'reflect-metadata'
import { Body, Controller, Get, HttpCode, Module, Post, Query, Req, Res } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { LastcallModule, LastcallService, enableLastcall, formatReport } from '@lastcall/nestjs'
import { EVENT_STREAM_HEADERS, earlyFlush, eventStream, slowMs } from './sse.mjs'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'readiness-delay-ms': { type: 'string', default: '500' } } })

class DemoController {
  fast() {
    return 'fast\n'
  }
  /**
   * @param {string | undefined} ms
   * @param {import('express').Request} req
   */
  async slow(ms, req) {
    const wait = slowMs(ms)
    // Stop waiting if the client goes away.
    const gone = new AbortController()
    req.res?.once('close', () => gone.abort())
    await delay(wait, undefined, { signal: gone.signal }).catch(() => {})
    return `slow ${wait} ms\n`
  }
  /**
   * Early-flushed: the head and `early;` at once, `late` after `ms`.
   * @param {string | undefined} ms
   * @param {import('express').Response} res
   */
  stream(ms, res) {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    earlyFlush(ms).pipe(res)
  }
  /** @param {unknown} body */
  orders(body) {
    return { received: Buffer.byteLength(JSON.stringify(body)) }
  }
  /**
   * @param {import('express').Request} req
   * @param {import('express').Response} res
   */
  events(req, res) {
    res.writeHead(200, EVENT_STREAM_HEADERS)
    // Ends with the final event on the request's drain signal.
    eventStream(req.lastcall.signal).pipe(res)
  }
}
/**
 * @param {'fast' | 'slow' | 'stream' | 'orders' | 'events'} method
 * @param {MethodDecorator[]} decorators
 */
const route = (method, ...decorators) => {
  const proto = DemoController.prototype
  const descriptor = /** @type {PropertyDescriptor} */ (Reflect.decorate(decorators, proto, method, Object.getOwnPropertyDescriptor(proto, method)))
  Object.defineProperty(proto, method, descriptor)
}
Reflect.decorate([Controller()], DemoController)
route('fast', Get('fast'))
route('slow', Get('slow'))
Query('ms')(DemoController.prototype, 'slow', 0)
Req()(DemoController.prototype, 'slow', 1)
route('stream', Get('stream'))
Query('ms')(DemoController.prototype, 'stream', 0)
Res()(DemoController.prototype, 'stream', 1)
route('orders', Post('orders'), HttpCode(201))
Body()(DemoController.prototype, 'orders', 0)
route('events', Get('events'))
Req()(DemoController.prototype, 'events', 0)
Res()(DemoController.prototype, 'events', 1)

class AppModule {}
// The probes (/readyz...), req.lastcall and the 503s go in before Nest's routing.
Reflect.decorate([Module({ imports: [LastcallModule.forRoot({ readinessDelayMs: Number(values['readiness-delay-ms']), drainTimeoutMs: 8000, logger: console })], controllers: [DemoController] })], AppModule)

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
enableLastcall(app) // Nest's onModuleDestroy... run after the drain, as the hook nest.close
app.get(LastcallService).on('closed', (report) => {
  console.log(formatReport(report))
  console.log(`LASTCALL_REPORT ${JSON.stringify(report)}`)
})
await app.listen(Number(values.port), '127.0.0.1')
console.log(`DEMO_LISTENING ${app.getHttpServer().address().port}`)
