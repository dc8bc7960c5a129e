import net from 'node:net'

/**
 * A TCP front for two or more backends: every new connection goes to the
 * first backend that accepts it (a refused connect tries the next). A
 * balancer that has stopped routing to an instance whose listener closed.
 */
export async function failover(ports: readonly number[]): Promise<{ port: number; close(): void; picked: number[] }> {
  const picked: number[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    client.pause()
    const attempt = (i: number): void => {
      if (i >= ports.length) {
        client.destroy()
        return
      }
      const upstream = net.connect(ports[i]!, '127.0.0.1')
      let connected = false
      upstream.on('error', () => {
        if (!connected) attempt(i + 1)
        else client.destroy()
      })
      upstream.once('connect', () => {
        connected = true
        picked.push(ports[i]!)
        sockets.add(upstream)
        upstream.on('close', () => {
          sockets.delete(upstream)
          client.destroy()
        })
        client.on('close', () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    picked,
    close() {
      server.close()
      for (const s of sockets) s.destroy()
    },
  }
}
