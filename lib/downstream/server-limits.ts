// ServerLimits: what one inbound server lets a client make it hold, with
// Envoy-like defaults: an idle timeout, a deadline to receive a whole request
// once its first bytes arrive (slowloris), a cap on connections, a cap on
// calls in flight per connection, and a bound on reply bytes queued for a
// client that does not read (past it, the server stops reading from it).
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export interface ServerLimits {
  /** Close a connection with no call in flight that received nothing for this long, in ms (default 3 600 000: Envoy's idle_timeout). */
  readonly idleTimeoutMs?: number;
  /** Once a request's first bytes arrive, all of it must arrive within this, in ms, or the connection is closed (default 10 000). */
  readonly requestTimeoutMs?: number;
  /** Connections open at once; more are closed as soon as they are accepted (default 10 000). */
  readonly maxConnections?: number;
  /** Calls in flight per connection; at the limit the server stops reading that connection until one finishes (default 1 024). */
  readonly maxCallsPerConnection?: number;
  /** Reply bytes queued for a client past which the server stops reading from it until they drain (default 1 MiB, Envoy's per-connection buffer limit). */
  readonly writeBufferLimitBytes?: number;
}

export type ResolvedServerLimits = Required<ServerLimits>;

export const DEFAULT_SERVER_LIMITS: ResolvedServerLimits = Object.freeze({
  idleTimeoutMs: 3_600_000,
  requestTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxCallsPerConnection: 1_024,
  writeBufferLimitBytes: 1024 * 1024,
});

/** The limits with defaults filled in; a value that is not a positive number is refused with the field's name. */
export function resolveServerLimits(limits: ServerLimits | undefined): ResolvedServerLimits {
  const out: Record<string, number> = { ...DEFAULT_SERVER_LIMITS };
  for (const [key, value] of Object.entries(limits ?? {})) {
    if (!(key in DEFAULT_SERVER_LIMITS)) {
      throw new MeshError(MeshErrorCode.CONFIG, `server limits: unknown field ${key}; known: ${Object.keys(DEFAULT_SERVER_LIMITS).join(', ')}`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0)) {
      throw new MeshError(MeshErrorCode.CONFIG, `server limits: ${key} is ${String(value)}; set a number above 0 (Infinity for no limit)`);
    }
    out[key] = value;
  }
  return out as unknown as ResolvedServerLimits;
}
