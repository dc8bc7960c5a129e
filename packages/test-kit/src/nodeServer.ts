/**
 * The harness shape shared by adapters whose app is a request function on a
 * Node server they create (core on `node:http`, Express, Koa, Hono): what
 * differs per framework is the app and its routes; attaching the server,
 * listening and checking the plain-text 503 are the same for all of them.
 */
import type { Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ShutdownController, ShutdownOptions } from '@lastcall/core'
import { listen } from '@lastcall/test-utils'
import { expect } from 'vitest'
import type { AdapterUnderTest, AppKit, AppVariant } from './app.js'

export interface NodeServerAdapter {
  /** Shown in test names: `express 5`. */
  name: string
  /** The fixture that runs this app (`runFixture(create)`), as a file URL. */
  fixture: URL
  supports?: AdapterUnderTest['supports']
  /**
   * The body of the framework's 503 when lastcall rejects a request, sent as
   * `text/plain`: the exact text, or a pattern it matches.
   */
  rejectedBody: string | RegExp
  /**
   * Builds the app with the adapter installed first and the routes every app
   * serves (see `AdapterApp`), on a server that does not listen yet. The
   * shape attaches the server to the controller unless `variant.attach` is `false`.
   */
  build(options: ShutdownOptions, kit: AppKit, variant: AppVariant): { controller: ShutdownController; server: Server }
}

/** The `AdapterUnderTest` for an app on a Node server (see `NodeServerAdapter`). */
export function nodeServerAdapter({ name, fixture, supports, rejectedBody, build }: NodeServerAdapter): AdapterUnderTest {
  return {
    name,
    fixture: fileURLToPath(fixture),
    ...(supports === undefined ? {} : { supports }),
    expectRejectedBody(body, contentType) {
      expect(contentType).toMatch(/^text\/plain/)
      if (typeof rejectedBody === 'string') expect(body).toBe(rejectedBody)
      else expect(body).toMatch(rejectedBody)
    },
    create(options, kit, variant) {
      const { controller, server } = build(options, kit, variant)
      if (variant.attach !== false) controller.attach(server)
      return { controller, server, listen: (port = 0) => listen(server, port) }
    },
  }
}
