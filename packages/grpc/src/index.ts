export { attachGrpc } from './attachGrpc.js'
export type { AttachGrpcOptions, GrpcCallCounts, GrpcDrain, GrpcServerLike, GrpcShutdownHost } from './attachGrpc.js'
export { HealthService, ServingStatus, healthServiceDefinition } from './health.js'
export type { HealthCheckRequest, HealthCheckResponse, ServingStatusName } from './health.js'
