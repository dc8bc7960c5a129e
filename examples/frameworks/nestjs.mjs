// node nestjs.mjs, then SIGTERM (Ctrl-C) it: the report shows what happened.
// Plain JavaScript has no decorators: Reflect.decorate applies Nest's, as TypeScript's output does.
import 'reflect-metadata'
import { Controller, Get, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { LastcallModule, LastcallService, LastcallSignal, enableLastcall, formatReport } from '@lastcall/nestjs'

class HelloController {
  hello() {
    return 'hello\n'
  }
  async slow(signal) {                         // @LastcallSignal(): aborts when the drain starts
    await new Promise((resolve) => setTimeout(resolve, 1000))
    return signal.aborted ? 'slow (finished during the drain)\n' : 'slow\n'
  }
}
Reflect.decorate([Controller()], HelloController)
for (const [method, path] of [['hello', '/'], ['slow', 'slow']]) {
  const descriptor = Object.getOwnPropertyDescriptor(HelloController.prototype, method)
  Object.defineProperty(HelloController.prototype, method, Reflect.decorate([Get(path)], HelloController.prototype, method, descriptor))
}
LastcallSignal()(HelloController.prototype, 'slow', 0)

class AppModule {
  onModuleDestroy() { /* runs after the drain: close what the app holds */ }
}
// SIGTERM/SIGINT, probes at /healthz /readyz /startupz, before Nest's routing
Reflect.decorate([Module({ imports: [LastcallModule.forRoot()], controllers: [HelloController] })], AppModule)

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
enableLastcall(app)                            // instead of app.enableShutdownHooks()
const shutdown = app.get(LastcallService)
shutdown.on('closed', (report) => console.log(formatReport(report)))
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
console.log(`listening on ${app.getHttpServer().address().port}`)
