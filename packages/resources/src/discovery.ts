import type { HookContext } from '@lastcall/core'
import { LastcallOptionError } from '@lastcall/core'
import { ResourceCloseError } from './errors.js'
import { registerHook, type ResourceHookOptions, type ShutdownHost } from './register.js'

export type { ResourceHookOptions, ShutdownHost } from './register.js'
export { ResourceCloseError } from './errors.js'

/** Takes this instance out of a registry. Honour `context.signal`: it aborts at the hook's deadline. */
export type Deregister = (context: HookContext) => unknown

/** Wraps a deregistration's failure, keeping it as `cause`. */
export function deregistrationFailed(name: string, error: unknown): ResourceCloseError {
  const detail = error instanceof Error ? error.message : String(error)
  return new ResourceCloseError(name, 'close-failed', `deregistration failed: ${detail}`, { cause: error })
}

/**
 * Runs `deregister` in the `deregister` phase, which starts with the
 * readiness delay: the registry stops handing this instance out while the
 * balancer notices readiness failing, and both are done before the drain.
 * The drain never waits for it: a registry that is down or slow is reported
 * (outcome `error` or `timeout`, exit code 1) while the shutdown goes on.
 *
 * @example
 * deregisterOnShutdown(shutdown, consulDeregister({ url: 'http://127.0.0.1:8500', serviceId }), { name: 'consul' })
 */
export function deregisterOnShutdown(host: ShutdownHost, deregister: Deregister, options?: ResourceHookOptions): () => void {
  if (typeof deregister !== 'function') throw new LastcallOptionError('deregisterOnShutdown(deregister)', deregister, 'a function (context) => unknown')
  return registerHook('deregisterOnShutdown', host, options, { name: 'deregister', phase: 'deregister' }, async (context, name) => {
    try {
      await deregister(context)
    } catch (error) {
      throw deregistrationFailed(name, error)
    }
  })
}

async function send(url: string, method: string, signal: AbortSignal, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { method, signal, headers })
  // Drain the body so the connection is released at once.
  await response.arrayBuffer().catch(() => {})
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status} ${response.statusText}`)
}

export interface ConsulDeregisterOptions {
  /** The local Consul agent, for example `http://127.0.0.1:8500`. */
  url: string
  /** The service id this instance registered with. */
  serviceId: string
  /**
   * An ACL token, sent as `X-Consul-Token`.
   * @default undefined (no token)
   */
  token?: string
}

/**
 * Consul: `PUT /v1/agent/service/deregister/:serviceId` on the local agent,
 * which drops the instance from the catalog and from DNS and health answers.
 */
export function consulDeregister(options: ConsulDeregisterOptions): Deregister {
  const { url, serviceId, token } = options ?? ({} as ConsulDeregisterOptions)
  if (typeof url !== 'string' || url === '') throw new LastcallOptionError('consulDeregister(options).url', url, "the agent's URL, e.g. 'http://127.0.0.1:8500'")
  if (typeof serviceId !== 'string' || serviceId === '') throw new LastcallOptionError('consulDeregister(options).serviceId', serviceId, 'the service id this instance registered with')
  const target = `${url.replace(/\/+$/, '')}/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`
  return ({ signal }) => send(target, 'PUT', signal, token ? { 'X-Consul-Token': token } : {})
}

export interface EurekaDeregisterOptions {
  /** Eureka's REST base, for example `http://eureka:8761/eureka`. */
  url: string
  /** The application name (Eureka upper-cases it). */
  app: string
  /** This instance's id. */
  instanceId: string
}

/**
 * Eureka: `DELETE {url}/apps/{app}/{instanceId}`. Eureka clients cache the
 * registry (30 s by default), so they may still call here for a while: keep
 * the readiness delay at least that long, or rely on the balancer in front.
 */
export function eurekaDeregister(options: EurekaDeregisterOptions): Deregister {
  const { url, app, instanceId } = options ?? ({} as EurekaDeregisterOptions)
  if (typeof url !== 'string' || url === '') throw new LastcallOptionError('eurekaDeregister(options).url', url, "Eureka's REST base, e.g. 'http://eureka:8761/eureka'")
  if (typeof app !== 'string' || app === '') throw new LastcallOptionError('eurekaDeregister(options).app', app, 'the application name')
  if (typeof instanceId !== 'string' || instanceId === '') throw new LastcallOptionError('eurekaDeregister(options).instanceId', instanceId, "this instance's id")
  const target = `${url.replace(/\/+$/, '')}/apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(instanceId)}`
  return ({ signal }) => send(target, 'DELETE', signal, {})
}
