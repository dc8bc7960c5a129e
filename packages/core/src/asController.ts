import type { ShutdownController } from './shutdown.js'

/**
 * For adapters: makes the framework middleware `fn` also *be* the controller, so that
 * `app.use(shutdown)` and `shutdown.attach(server)` use one object.
 *
 * A Proxy, because the controller keeps its state in private fields: its
 * methods only work with the real instance as `this`, which rules out
 * `Object.setPrototypeOf(fn, controller)` and copying methods across. Reads
 * and writes of anything the controller has (methods, getters, EventEmitter
 * state) go to the controller, methods bound to it; everything else
 * (`length`, `name`, `call`) stays the function's. `instanceof
 * ShutdownController` holds, `typeof` is still `'function'`.
 */
export function asController<F extends (...args: any[]) => unknown, C extends ShutdownController>(
  fn: F,
  controller: C,
  overrides: Partial<Record<keyof C, unknown>> = {},
): F & C {
  const bound = new Map<PropertyKey, { original: unknown; bound: unknown }>()
  const owns = (key: PropertyKey): boolean => key in controller && !(key in Object.prototype)
  return new Proxy(fn, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof C]
      if (!owns(key)) return Reflect.get(target, key)
      const value: unknown = Reflect.get(controller, key, controller)
      if (typeof value !== 'function') return value
      const cached = bound.get(key)
      if (cached?.original === value) return cached.bound
      const fresh = (value as (...args: unknown[]) => unknown).bind(controller)
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
      return Object.getPrototypeOf(controller) as object
    },
  }) as F & C
}
