import { existsSync, readFileSync } from 'node:fs'

/**
 * Where the real servers started by `scripts/services.sh start` listen. Read
 * from the environment, else from the env file the script writes. A server
 * that is missing comes with the reason, shown in the skipped test's name.
 */
export interface Service {
  url: string | undefined
  /** Why the tests that need it are skipped; undefined when it runs. */
  skip: string | undefined
}

const FILE = process.env.LASTCALL_SERVICES_ENV ?? '/tmp/lastcall-services.env'

function readEnvFile(): Record<string, string> {
  if (!existsSync(FILE)) return {}
  const out: Record<string, string> = {}
  for (const line of readFileSync(FILE, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1')
  }
  return out
}

const file = readEnvFile()

function service(key: 'PG' | 'REDIS' | 'AMQP' | 'MEMCACHED' | 'ETCD' | 'KAFKA' | 'SQS', label: string, variable = `LASTCALL_${key}_URL`): Service {
  const url = process.env[variable] ?? file[variable]
  if (url) return { url, skip: undefined }
  const reason = process.env[`LASTCALL_SKIP_${key}`] ?? file[`LASTCALL_SKIP_${key}`] ?? `${variable} is not set (run scripts/services.sh start)`
  return { url: undefined, skip: `SKIPPED: no ${label}: ${reason}` }
}

export const pg = service('PG', 'PostgreSQL')
export const redis = service('REDIS', 'Redis')
export const amqp = service('AMQP', 'RabbitMQ')
export const memcached = service('MEMCACHED', 'memcached')
export const etcd = service('ETCD', 'etcd')
/** librdkafka's mock cluster: an emulator, no Kafka broker package exists here. */
export const kafka = service('KAFKA', 'Kafka (librdkafka mock cluster)', 'LASTCALL_KAFKA_BROKERS')
/** The mock cluster's binary, for a test that needs a cluster of its own to stop. */
export const kafkaMock = service('KAFKA', 'the kafka-mock binary', 'LASTCALL_KAFKA_MOCK')
/** moto_server: an emulator of the SQS API. */
export const sqs = service('SQS', 'SQS (moto_server emulator)')

/** A describe title that carries the skip reason when a server is missing. */
export function needs(title: string, ...services: Service[]): string {
  const skips = services.map((s) => s.skip).filter((s): s is string => s !== undefined)
  return skips.length === 0 ? title : `${title} [${skips.join('; ')}]`
}

export function missing(...services: Service[]): boolean {
  return services.some((s) => s.skip !== undefined)
}

/** A name unique to this run, for tables, keys and queues. */
export function unique(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`
}
