// Child of instructions.mjs, run under valgrind: starts one server of
// servers.mjs (`<framework> <bare|lastcall>`), prints `{"port":N}`, and exits
// right after its `count`-th request has been answered.
import { FRAMEWORKS } from './servers.mjs'

const [framework, variant, countText] = process.argv.slice(2)
const count = Number(countText)
const server = await FRAMEWORKS[framework].start(variant)
let answered = 0
server.on('request', (_req, res) => {
  res.on('finish', () => {
    if (++answered === count) setImmediate(() => process.exit(0))
  })
})
process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
