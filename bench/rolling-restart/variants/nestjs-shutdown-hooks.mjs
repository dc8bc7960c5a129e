// NestJS 12's own shutdown (Express platform), as its docs recommend:
// `app.enableShutdownHooks()`; on SIGTERM Nest's close() (server closed, hooks
// run), then Nest raises the signal again. `--return-503` adds Nest 12's
// `return503OnClosing: true` (503 with Connection: close to requests arriving
// while it closes). /readyz always answers 200.
import 'reflect-metadata'
import * as nest from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { listening, nestController, portArg } from '../app.mjs'

class AppModule {}
Reflect.decorate([nest.Module({ controllers: [nestController(nest, { readyz: true })] })], AppModule)
const app = await NestFactory.create(AppModule, { logger: false, return503OnClosing: process.argv.includes('--return-503') })
app.enableShutdownHooks()
await app.listen(portArg(), '127.0.0.1')
listening(app.getHttpServer())
