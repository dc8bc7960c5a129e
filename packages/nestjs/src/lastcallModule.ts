import { createShutdown, LastcallError, ShutdownController, type LastcallRequestContext, type ShutdownOptions } from '@lastcall/core'
import { Inject, Logger, type DynamicModule, type INestApplication, type InjectionToken, type ModuleMetadata, type NestModule, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common'
import { HttpAdapterHost } from '@nestjs/core'
import { mountGate, type NestHttpAdapterLike } from './mount.js'

declare global {
  // Express's own way to extend its Request type: `@Req() req: Request` has `req.lastcall` on the Express platform.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `@lastcall/nestjs` on every request that passes it. */
      lastcall: LastcallRequestContext
    }
  }
}

/** Options of `LastcallModule.forRoot()`: exactly the core's. `logger` defaults to Nest's `Logger` (context `lastcall`). */
export type LastcallModuleOptions = ShutdownOptions

/** `LastcallModule.forRootAsync()`: the options from a factory, with what it injects. */
export interface LastcallModuleAsyncOptions {
  /** Modules whose providers the factory injects (`ConfigModule`). */
  imports?: ModuleMetadata['imports']
  /** Providers handed to `useFactory`, in order. */
  inject?: InjectionToken[]
  /** Returns the options (or a promise of them). */
  useFactory(...args: any[]): LastcallModuleOptions | Promise<LastcallModuleOptions>
}

/**
 * The controller, injectable: `constructor(private readonly lastcall: LastcallService)`,
 * then `lastcall.addCheck(...)`, `lastcall.onShutdown(...)`, `lastcall.state`.
 * It is core's `ShutdownController` (the same class, so either name injects it).
 */
export const LastcallService = ShutdownController
export type LastcallService = ShutdownController

const OPTIONS = 'LASTCALL_MODULE_OPTIONS'

/** Core's logger shape on Nest's `Logger`. */
function nestLogger(): NonNullable<ShutdownOptions['logger']> {
  const logger = new Logger('lastcall')
  return { info: (message: string) => logger.log(message), warn: (message: string) => logger.warn(message), error: (message: string) => logger.error(message) }
}

/** The first phase that runs after the drain: where `app.close()` belongs. */
function cleanupPhase(controller: ShutdownController): string {
  const phases = controller.options.phases
  return (phases.find((p) => p.start === 'cleanup') ?? phases[phases.length - 1])!.name
}

/**
 * Wires the controller into the Nest application: the gate in front of the
 * router, the server attached, Nest's own close inside lastcall's shutdown.
 */
export class LastcallLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  readonly controller: ShutdownController
  readonly #host: HttpAdapterHost
  #mounted = false
  #app: INestApplication | undefined
  /** Nest's close is under way (started by lastcall's hook or by someone else). */
  #nestClosing = false
  #markClosed!: () => void
  readonly #closed = new Promise<void>((resolve) => (this.#markClosed = resolve))

  constructor(controller: ShutdownController, host: HttpAdapterHost) {
    this.controller = controller
    this.#host = host
    // NestFactory.create() sets the adapter before any provider is built: the
    // gate then goes in before Nest's body parsers and middleware. A testing
    // module's createNestApplication() sets it later: LastcallModule.configure() mounts it then.
    this.mount()
    controller.on('state', (state) => {
      // A shutdown lastcall started (a signal) with no app to close: Nest's hooks would never run.
      if (state !== 'leaving' || this.#app !== undefined || this.#nestClosing) return
      const logger = controller.options.logger
      if (logger) logger.warn("lastcall: enableLastcall(app) was not called, so Nest's onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks will not run in this shutdown")
    })
  }

  /** Puts the gate in front of Nest's routing, once, as soon as the HTTP adapter exists. */
  mount(): void {
    const adapter = this.#host.httpAdapter as NestHttpAdapterLike | undefined
    if (this.#mounted || adapter === undefined) return
    this.#mounted = true
    mountGate(this.controller, adapter)
  }

  /** `enableLastcall(app)`: lastcall's shutdown ends with `app.close()`, and lastcall alone answers the signals. */
  manage(app: INestApplication): void {
    if (this.#app === app) return
    if (this.#app !== undefined) throw new LastcallError('LASTCALL_INVALID_STATE', 'enableLastcall() was already called with another application')
    this.#app = app
    this.#silenceNestSignals()
    const controller = this.controller
    controller.onShutdown(
      'nest.close',
      ({ trigger }) => {
        if (this.#nestClosing) return this.#closed
        this.#nestClosing = true
        // Nest hands the signal to beforeApplicationShutdown / onApplicationShutdown (its typings leave the parameter out).
        return (app as { close(signal?: string): Promise<void> }).close(trigger.type === 'signal' ? trigger.signal : undefined)
      },
      { phase: cleanupPhase(controller) },
    )
  }

  onApplicationBootstrap(): void {
    this.mount()
    const server = this.#host.httpAdapter?.getHttpServer() as Parameters<ShutdownController['attach']>[0] | undefined
    if (server !== undefined) this.controller.attach(server)
    // enableShutdownHooks() called after enableLastcall(), before listen().
    if (this.#app !== undefined) this.#silenceNestSignals()
  }

  /**
   * Nest's close started without lastcall (a direct `app.close()`): run lastcall's
   * drain from here, without the readiness delay (whoever closed has decided to stop).
   * Global modules' destroy hooks run last, so the app's own ran before this one.
   */
  async onModuleDestroy(): Promise<void> {
    const controller = this.controller
    if (this.#nestClosing) return
    this.#nestClosing = true
    if (!controller.isShuttingDown) {
      const server = this.#host.httpAdapter?.getHttpServer() as { listening?: boolean } | undefined
      if (server?.listening !== true) {
        // Never served (a testing module with supertest): nothing to drain, nothing to exit for.
        controller.dispose()
        this.#markClosed()
        return
      }
      void controller.shutdown('app.close() called', { skipReadinessDelay: true })
    }
    await controller.reached('closing')
  }

  onApplicationShutdown(): void {
    this.#markClosed()
  }

  /**
   * `app.enableShutdownHooks()` makes Nest close on SIGTERM at once (server
   * closed, idle keep-alive sockets destroyed, hooks run beside in-flight
   * requests) and then re-raise the signal, which would reach lastcall as a
   * second one. Once the app is handed over, lastcall answers the signals and
   * runs Nest's close itself, after the drain: Nest's listeners go.
   */
  #silenceNestSignals(): void {
    const app = this.#app as unknown as { unsubscribeFromProcessSignals?: () => void }
    app.unsubscribeFromProcessSignals?.()
  }
}

/**
 * Graceful shutdown for NestJS 11 and 12, on the Express or the Fastify
 * platform: `imports: [LastcallModule.forRoot(options)]`, then
 * `enableLastcall(app)` before `app.listen()`.
 */
export class LastcallModule implements NestModule {
  readonly #lifecycle: LastcallLifecycle

  constructor(lifecycle: LastcallLifecycle) {
    this.#lifecycle = lifecycle
  }

  /** The module with its options, global: `LastcallService` can be injected anywhere. */
  static forRoot(options: LastcallModuleOptions = {}): DynamicModule {
    return LastcallModule.#module([{ provide: OPTIONS, useValue: options }])
  }

  /** The module with options from a factory (`ConfigService`...). */
  static forRootAsync(options: LastcallModuleAsyncOptions): DynamicModule {
    return { ...LastcallModule.#module([{ provide: OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }]), imports: options.imports ?? [] }
  }

  static #module(optionProviders: NonNullable<DynamicModule['providers']>): DynamicModule {
    return {
      module: LastcallModule,
      global: true,
      providers: [
        ...optionProviders,
        // Options are checked here: a LastcallOptionError fails the app's creation.
        { provide: ShutdownController, useFactory: (options: LastcallModuleOptions) => createShutdown({ logger: nestLogger(), ...options }), inject: [OPTIONS] },
        { provide: LastcallLifecycle, useFactory: (controller: ShutdownController, host: HttpAdapterHost) => new LastcallLifecycle(controller, host), inject: [ShutdownController, HttpAdapterHost] },
      ],
      exports: [ShutdownController],
    }
  }

  /** Runs before Nest registers its routes: mounts the gate if the adapter came late (testing modules). */
  configure(): void {
    this.#lifecycle.mount()
  }
}
// Decorator metadata without decorator syntax: the module's constructor gets the lifecycle.
Inject(LastcallLifecycle)(LastcallModule, undefined, 0)

/**
 * Hands the application to lastcall, in place of `app.enableShutdownHooks()`:
 * on SIGTERM lastcall runs the readiness delay and the drain, then `app.close()`
 * (`onModuleDestroy`, `beforeApplicationShutdown`, `onApplicationShutdown`) as
 * the hook `nest.close` of the first cleanup phase, bounded by `hookTimeoutMs`
 * and reported. Nest's own signal listeners, if `enableShutdownHooks()` installed
 * any, are removed. Call it before `app.listen()`.
 */
export function enableLastcall<App extends INestApplication>(app: App): App {
  let lifecycle: LastcallLifecycle
  try {
    lifecycle = app.get(LastcallLifecycle)
  } catch (error) {
    throw new LastcallError('LASTCALL_INVALID_STATE', 'enableLastcall(app): this application does not import LastcallModule.forRoot() or forRootAsync()', { cause: error })
  }
  lifecycle.manage(app)
  return app
}
