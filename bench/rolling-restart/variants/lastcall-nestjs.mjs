// @lastcall/nestjs with the library's defaults on NestJS 12 (Express platform):
// `LastcallModule.forRoot()`, app.mjs's routes as a controller,
// `enableLastcall(app)` before `app.listen()`.
import 'reflect-metadata'
import * as nest from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { LastcallModule, LastcallService, enableLastcall } from '@lastcall/nestjs'
import { lastcallOptions, listening, nestController, portArg } from '../app.mjs'

class AppModule {}
Reflect.decorate([nest.Module({ imports: [LastcallModule.forRoot(lastcallOptions())], controllers: [nestController(nest)] })], AppModule)
const app = await NestFactory.create(AppModule, { logger: false })
enableLastcall(app)
app.get(LastcallService).on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
await app.listen(portArg(), '127.0.0.1')
listening(app.getHttpServer())
