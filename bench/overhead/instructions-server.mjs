// Child of instructions.mjs, run under valgrind: starts one server of
// servers.mjs (`<framework> <bare|lastcall|noop>`) and prints `{"port":N}`.
// instructions.mjs stops it by pid.
import { FRAMEWORKS } from './servers.mjs'

const [framework, variant] = process.argv.slice(2)
const server = await FRAMEWORKS[framework].start(variant)
// Under valgrind on a busy machine the server can fall more than the default
// 5 s keep-alive timeout behind its client: Node would then close sockets
// with a request waiting on them (the client sees ECONNRESET) and the
// reconnections would count as per-request work. Same value for every
// variant, and the same code runs per response whatever the value.
server.keepAliveTimeout = 600_000
process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
