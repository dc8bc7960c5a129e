import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const tlsDir = join(import.meta.dirname, '..', 'fixtures', 'tls')

/** A self-signed key and certificate for 127.0.0.1 (the clients here skip verification). */
export function tlsOptions(): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) }
}
