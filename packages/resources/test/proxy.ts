import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'

export interface CuttableProxy {
  port: number
  /** Stops listening and destroys every connection: the server behind it is gone for whoever used the proxy. */
  cut(): void
}

/**
 * A TCP proxy on 127.0.0.1:0 to `host:port`. A test takes a shared server
 * away from one client (its connections reset, new ones refused) without
 * stopping the server for the other tests.
 */
export async function cuttableProxy(host: string, port: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>()
  const proxy = createServer((inbound) => {
    const outbound = connect(port, host)
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('error', () => {})
    }
    inbound.pipe(outbound).pipe(inbound)
  }).listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  return {
    port: (proxy.address() as { port: number }).port,
    cut() {
      proxy.close()
      for (const s of sockets) s.destroy()
    },
  }
}
