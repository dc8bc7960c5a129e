export { attachSocketIo, DRAINING_MESSAGE } from './attachSocketIo.js'
export type {
  AttachSocketIoOptions,
  EngineConnectionLike,
  EngineServerLike,
  SocketIoDrain,
  SocketIoDrainCounts,
  SocketIoNamespaceLike,
  SocketIoServerLike,
  SocketIoShutdownHost,
  SocketIoSocketLike,
} from './attachSocketIo.js'
