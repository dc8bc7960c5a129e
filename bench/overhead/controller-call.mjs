// What it costs to call the Express/Koa middleware and to use the controller
// through it, against a plain function and the bare controller.
//
//   pnpm build && node bench/overhead/controller-call.mjs [--rounds 15] [--iterations 2000000]
//
// Before 0.2 the middleware was a Proxy around the function (core's
// `asController`, reproduced below as the reference); now it is the function
// itself with the controller's API defined on it once (`withController`).
// Each operation is timed in alternating rounds in one process and reported
// as the median ns/op and the median ratio to its baseline. Wall-clock, so run
// it on a quiet machine; the ratios are what to read.
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    iterations: { type: 'string', default: '2000000' },
  },
})
const rounds = Number(args.rounds)
const iterations = Number(args.iterations)

const root = new URL('../../packages/core/dist/', import.meta.url)
const { createShutdown } = await import(new URL('index.mjs', root).href)
const { withController } = await import(new URL('adapter.mjs', root).href)

/** The middleware as a Proxy, as `asController` made it up to 0.1 (the reference for "before"). */
function proxied(fn, controller) {
  const bound = new Map()
  const owns = (key) => key in controller && !(key in Object.prototype)
  return new Proxy(fn, {
    get(target, key) {
      if (!owns(key)) return Reflect.get(target, key)
      const value = Reflect.get(controller, key, controller)
      if (typeof value !== 'function') return value
      const cached = bound.get(key)
      if (cached?.original === value) return cached.bound
      const fresh = value.bind(controller)
      bound.set(key, { original: value, bound: fresh })
      return fresh
    },
    set(target, key, value) {
      return owns(key) ? Reflect.set(controller, key, value, controller) : Reflect.set(target, key, value)
    },
    has(target, key) {
      return owns(key) || Reflect.has(target, key)
    },
    getPrototypeOf() {
      return Object.getPrototypeOf(controller)
    },
  })
}

const quiet = { logger: false, signals: [], exit: false }
let sink = 0
// Three identical middleware bodies, so that no variant shares another's inline caches.
const plain = (a, b, next) => next(a)
const asProxy = proxied((a, b, next) => next(a), createShutdown(quiet))
const asFunction = withController((a, b, next) => next(a), createShutdown(quiet))
const controller = createShutdown(quiet)
const next = (a) => {
  sink += a
}

/** What Express's router does per request: read `length`, then call. */
const call = (mw) => () => {
  for (let i = 0; i < iterations; i++) if (mw.length < 4) mw(1, undefined, next)
}
/** An accessor read through the middleware (`shutdown.state`). */
const read = (target) => () => {
  for (let i = 0; i < iterations; i++) if (target.state === 'starting') sink++
}

const cases = [
  { name: 'call as Express does (length + call)', baseline: call(plain), variants: { Proxy: call(asProxy), 'plain function': call(asFunction) } },
  { name: 'read shutdown.state', baseline: read(controller), variants: { Proxy: read(asProxy), 'plain function': read(asFunction) } },
]

const time = (fn) => {
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0) / iterations
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

console.log(`| operation | baseline ns/op | middleware | ns/op | ratio to baseline |`)
console.log('| --- | ---: | --- | ---: | ---: |')
for (const c of cases) {
  const samples = { baseline: [] }
  const ratios = {}
  for (const name of Object.keys(c.variants)) {
    samples[name] = []
    ratios[name] = []
  }
  for (let r = 0; r < rounds + 1; r++) {
    const base = time(c.baseline)
    const round = Object.entries(c.variants).map(([name, fn]) => [name, time(fn)])
    if (r === 0) continue // warm-up round
    samples.baseline.push(base)
    for (const [name, ns] of round) {
      samples[name].push(ns)
      ratios[name].push(ns / base)
    }
  }
  for (const name of Object.keys(c.variants)) {
    console.log(`| ${c.name} | ${median(samples.baseline).toFixed(1)} | ${name} | ${median(samples[name]).toFixed(1)} | ${median(ratios[name]).toFixed(2)} |`)
  }
}
if (sink === -1) console.log(sink)
