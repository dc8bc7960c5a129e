import type { ServiceDefinition, ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js'

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`, by its wire value. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const
export type ServingStatusName = keyof typeof ServingStatus

/** `grpc.health.v1.HealthCheckRequest`. */
export interface HealthCheckRequest {
  service: string
}

/** `grpc.health.v1.HealthCheckResponse`, with the status as its enum name (what proto-loader's `enums: String` gives). */
export interface HealthCheckResponse {
  status: ServingStatusName
}

const NAMES = Object.keys(ServingStatus) as ServingStatusName[]

/**
 * Reads a `HealthCheckRequest` (one field: `string service = 1`). Hand-written
 * so the package loads no protobuf runtime; unknown fields are skipped as the
 * protobuf rules say.
 */
export function decodeRequest(bytes: Buffer): HealthCheckRequest {
  let service = ''
  let at = 0
  const varint = (): number => {
    let value = 0
    let shift = 0
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated varint in HealthCheckRequest')
      const b = bytes[at++]!
      value += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return value
      shift += 7
      if (shift > 63) throw new Error('varint too long in HealthCheckRequest')
    }
  }
  while (at < bytes.length) {
    const key = varint()
    const field = Math.floor(key / 8)
    const wire = key & 7
    if (wire === 0) varint()
    else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else if (wire === 2) {
      const length = varint()
      if (at + length > bytes.length) throw new Error('truncated field in HealthCheckRequest')
      if (field === 1) service = bytes.toString('utf8', at, at + length)
      at += length
    } else throw new Error(`unsupported wire type ${wire} in HealthCheckRequest`)
  }
  return { service }
}

/** Writes a `HealthCheckResponse` (`ServingStatus status = 1`; 0 is the default and is left out). */
export function encodeResponse(response: HealthCheckResponse): Buffer {
  const value = ServingStatus[response.status]
  return value === 0 ? Buffer.alloc(0) : Buffer.from([0x08, value])
}

function encodeRequest(request: HealthCheckRequest): Buffer {
  const body = Buffer.from(request.service ?? '', 'utf8')
  if (body.length === 0) return Buffer.alloc(0)
  const length: number[] = []
  let n = body.length
  while (n >= 0x80) {
    length.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  length.push(n)
  return Buffer.concat([Buffer.from([0x0a, ...length]), body])
}

function decodeResponse(bytes: Buffer): HealthCheckResponse {
  // The one field this package writes; a client reading another server's answer should use the .proto.
  const value = bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1]! : 0
  return { status: NAMES[value] ?? 'UNKNOWN' }
}

const PATH = '/grpc.health.v1.Health/'

/**
 * The `grpc.health.v1.Health` service (`Check` and `Watch`) as grpc-js wants
 * it, with serializers written by hand: what `server.addService()` and
 * `makeGenericClientConstructor()` take.
 */
export const healthServiceDefinition = {
  Check: {
    path: `${PATH}Check`,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
    originalName: 'check',
  },
  Watch: {
    path: `${PATH}Watch`,
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
    originalName: 'watch',
  },
} satisfies ServiceDefinition

/** gRPC status NOT_FOUND, what the health protocol answers `Check` for a service it does not know. */
const NOT_FOUND = 5

/**
 * Answers `Check` and `Watch` from one status per service name, pushes every
 * change to the `Watch` streams of that name, and ends them all on `close()`
 * (a Watch stream never ends by itself, so it would hold the server's drain).
 */
export class HealthService {
  readonly #statuses = new Map<string, ServingStatusName>()
  readonly #watchers = new Map<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>, string>()
  #closed = false

  constructor(services: readonly string[], initial: ServingStatusName) {
    for (const name of services) this.#statuses.set(name, initial)
  }

  /** Sets every known service's status and tells their watchers when it changed. */
  setAll(status: ServingStatusName): void {
    for (const [name, before] of this.#statuses) {
      if (before === status) continue
      this.#statuses.set(name, status)
      for (const [call, watched] of this.#watchers) if (watched === name) call.write({ status })
    }
  }

  /** Watch streams open now. */
  get watchers(): number {
    return this.#watchers.size
  }

  /** Ends every Watch stream (with status OK) and every one opened from now on. */
  close(): void {
    this.#closed = true
    for (const call of this.#watchers.keys()) call.end()
    this.#watchers.clear()
  }

  readonly implementation = {
    Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>): void => {
      const status = this.#statuses.get(call.request.service)
      if (status === undefined) callback({ code: NOT_FOUND, details: `unknown service "${call.request.service}"` })
      else callback(null, { status })
    },
    Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void => {
      const name = call.request.service
      call.write({ status: this.#statuses.get(name) ?? 'SERVICE_UNKNOWN' })
      if (this.#closed) {
        call.end()
        return
      }
      this.#watchers.set(call, name)
      call.on('cancelled', () => this.#watchers.delete(call))
    },
  }
}
