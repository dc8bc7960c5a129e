// @lastcall/koa with the library's defaults: the middleware first, then
// app.mjs's routes as one Koa middleware, `shutdown.attach(app.listen(port))`.
import Koa from 'koa'
import { gracefulShutdown } from '@lastcall/koa'
import { lastcallOptions, listening, portArg, slowMs, streamEarly, streamMs } from '../app.mjs'

const shutdown = gracefulShutdown(lastcallOptions())
shutdown.on('closed', (report) => console.log(`REPORT ${JSON.stringify(report)}`))
const app = new Koa()
app.use(shutdown)
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/fast') {
    ctx.body = 'fast\n'
  } else if (ctx.method === 'GET' && ctx.path === '/slow') {
    const ms = slowMs(ctx.url)
    await new Promise((resolve) => setTimeout(resolve, ms))
    ctx.body = `slow ${ms}\n`
  } else if (ctx.method === 'GET' && ctx.path === '/stream') {
    // Written by hand, as an early-flushing handler does.
    ctx.respond = false
    streamEarly(ctx.res, streamMs(ctx.url))
  } else if (ctx.method === 'POST' && ctx.path === '/orders') {
    let size = 0
    for await (const chunk of ctx.req) size += chunk.length
    ctx.status = 201
    ctx.type = 'application/json'
    ctx.body = `{"received":${size}}\n`
  }
})
const server = app.listen(portArg(), '127.0.0.1', () => listening(server))
shutdown.attach(server)
