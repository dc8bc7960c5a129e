import { CARRIED_CONTROLLER, type ShutdownController } from '../controller.js'

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * For adapters: gives the framework's request function `fn` the controller's
 * whole API, so that `app.use(shutdown)` and `shutdown.attach(server)` use
 * one object. Returns `fn` itself, still a plain function: frameworks call it
 * directly and read its `length` and `name` at no extra cost.
 *
 * Every method and accessor of the controller's class chain (EventEmitter's
 * included) is defined on `fn` once, as an own non-enumerable property:
 * methods run on the controller (its state is in private fields, so `this`
 * must be the controller), and one that returns the controller returns `fn`
 * instead, so `shutdown.on('state', a).on('closed', b)` chains on the
 * middleware. Accessors (`state`, `report`...) read the controller each time.
 * `fn instanceof ShutdownController` holds (see `CARRIED_CONTROLLER`).
 */
export function withController<F extends (...args: never[]) => unknown>(fn: F, controller: ShutdownController): F & ShutdownController {
  const descriptors: PropertyDescriptorMap = {}
  for (let proto = Object.getPrototypeOf(controller) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const key of Reflect.ownKeys(proto)) {
      // The nearest class wins, as in a property lookup.
      if (key === 'constructor' || Object.hasOwn(descriptors, key)) continue
      const own = Object.getOwnPropertyDescriptor(proto, key)!
      if (own.get !== undefined || own.set !== undefined) {
        const { get, set } = own
        const forwarded: PropertyDescriptor = { configurable: true }
        if (get !== undefined) forwarded.get = () => get.call(controller) as unknown
        if (set !== undefined) forwarded.set = (value: unknown) => set.call(controller, value)
        descriptors[key] = forwarded
      } else if (typeof own.value === 'function') {
        const method = own.value as (...args: unknown[]) => unknown
        descriptors[key] = {
          configurable: true,
          writable: true,
          value: function (this: unknown, ...args: unknown[]): unknown {
            const result = method.apply(controller, args)
            return result === controller ? fn : result
          },
        }
      }
      // Data properties of prototypes (EventEmitter's `_events` defaults) are the instance's business.
    }
  }
  descriptors[CARRIED_CONTROLLER] = { value: controller }
  descriptors[INSPECT] = {
    configurable: true,
    value: (_depth: number, options: object, inspect: (value: unknown, options: object) => string): string =>
      `[${fn.name || 'middleware'} of ShutdownController] ${inspect({ state: controller.state, inFlight: controller.inFlight }, options)}`,
  }
  Object.defineProperties(fn, descriptors)
  return fn as F & ShutdownController
}
