/**
 * The conformance suite's app in another process (and so on another runtime:
 * Bun, Deno): a fixture started with `control: true`, a controller that mirrors
 * the child's from its events, and a kit whose gate opens by command.
 */
import { EventEmitter } from 'node:events'
import type { ShutdownController, ShutdownOptions, ShutdownReport, ShutdownState } from '@lastcall/core'
import type { AdapterUnderTest, AppVariant } from './app.js'
import { TestKit } from './app.js'
import { startFixture, type Fixture } from './child.js'
import type { Runtime } from '@lastcall/test-utils'

/**
 * What the suite reads and calls on a controller, driven over the fixture's
 * stdin and fed by its stdout. State changes arrive a little after they
 * happen in the child: tests wait with `reached()` rather than read `state`
 * right after a call.
 */
class RemoteController extends EventEmitter {
  state: ShutdownState = 'starting'
  report: ShutdownReport | undefined
  readonly #fixture: Fixture
  readonly #closed: Promise<ShutdownReport>

  constructor(fixture: Fixture) {
    super()
    this.#fixture = fixture
    this.#closed = new Promise((resolve) => this.once('closed', resolve))
    const apply = (event: Record<string, any>): void => {
      if (event.event === 'state' && event.state !== this.state) {
        const previous = this.state
        this.state = event.state as ShutdownState
        this.emit('state', this.state, previous)
      } else if (event.event === 'report') {
        this.report = event.report as ShutdownReport
        this.emit('closed', this.report)
      }
    }
    for (const event of fixture.events) apply(event)
    fixture.onEvent(apply)
  }

  ready(): void {
    this.#fixture.command({ cmd: 'ready' })
  }

  shutdown(reason = 'shutdown() called'): Promise<ShutdownReport> {
    this.#fixture.command({ cmd: 'shutdown', reason })
    return this.#closed
  }

  dispose(): void {}
}

/** A `TestKit` whose notes come from the child and whose gate opens there. */
class RemoteKit extends TestKit {
  readonly #fixture: Fixture

  constructor(fixture: Fixture) {
    super()
    this.#fixture = fixture
    for (const event of fixture.events) if (event.event === 'note') this.note(event.name as string)
    fixture.onEvent((event) => {
      if (event.event === 'note') this.note(event.name as string)
    })
  }

  override openGate(): void {
    this.#fixture.command({ cmd: 'openGate' })
  }
}

export interface RemoteApp {
  controller: ShutdownController
  kit: TestKit
  port: number
  fixture: Fixture
}

/** Starts `adapter`'s fixture on `runtime` under control; resolves once it listens. */
export async function startRemote(adapter: AdapterUnderTest, runtime: Runtime, options: ShutdownOptions, variant: AppVariant): Promise<RemoteApp> {
  const fixture = await startFixture(adapter.fixture, { options, variant, control: true }, { runtime })
  const controller = new RemoteController(fixture) as unknown as ShutdownController
  return { controller, kit: new RemoteKit(fixture), port: fixture.port, fixture }
}
