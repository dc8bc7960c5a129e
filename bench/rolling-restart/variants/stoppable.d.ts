// stoppable ships no types; the part the variant uses.
declare module 'stoppable' {
  import type { Server } from 'node:http'
  export default function stoppable<S extends Server>(server: S, grace?: number): S & { stop(callback?: (error?: Error, gracefully?: boolean) => void): void }
}
