import ioredis from 'ioredis'

/**
 * ioredis's client class, taken the way every version in the peer range has
 * it: the module's `default` (the named export `Redis` came later in 5.x, and
 * Node's default import of this CommonJS module is the module itself).
 */
export const Redis = ioredis.default
export type Redis = InstanceType<typeof Redis>
