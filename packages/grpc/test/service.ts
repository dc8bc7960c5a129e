// A small service for the tests, with JSON messages so no .proto is needed.
import * as grpc from '@grpc/grpc-js'

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): any => JSON.parse(bytes.toString('utf8')),
}

function method(name: string, responseStream: boolean): grpc.MethodDefinition<any, any> {
  return {
    path: `/lastcall.test.Test/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  }
}

/** `Slow` (unary), `Ticks` (server stream). */
export const TestService = { Slow: method('Slow', false), Ticks: method('Ticks', true) } satisfies grpc.ServiceDefinition

export const TestClient = grpc.makeGenericClientConstructor(TestService, 'Test') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => grpc.Client & {
  Slow(request: unknown, callback: (error: grpc.ServiceError | null, value?: any) => void): grpc.ClientUnaryCall
  Slow(request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, value?: any) => void): grpc.ClientUnaryCall
  Ticks(request: unknown): grpc.ClientReadableStream<any>
}

export function bind(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)))
  })
}

export function unary(client: InstanceType<typeof TestClient>, request: unknown): Promise<{ value?: any; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    client.Slow(request, { deadline: Date.now() + 10_000 }, (error, value) => resolve(error ? { error } : { value }))
  })
}

/** Reads a server stream to its end: every message and the final status. */
export function readAll(call: grpc.ClientReadableStream<any>): Promise<{ messages: any[]; status: grpc.StatusObject | undefined; error?: grpc.ServiceError }> {
  const messages: any[] = []
  call.on('data', (m) => messages.push(m))
  return new Promise((resolve) => {
    let status: grpc.StatusObject | undefined
    call.on('status', (s) => (status = s))
    call.on('error', (error: grpc.ServiceError) => resolve({ messages, status, error }))
    call.on('end', () => {
      // 'status' comes right after 'end'.
      if (status) resolve({ messages, status })
      else call.once('status', (s) => resolve({ messages, status: s }))
    })
  })
}
