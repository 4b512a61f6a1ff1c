// MeshError: the one error type the engine raises. Its `code` is stable and
// machine-readable; its message says what happened and what to change.

export const MeshErrorCode = {
  /** No route in the route table matched the call's metadata. */
  NO_ROUTE: 'NO_ROUTE',
  /** A route named a cluster the mesh does not know. */
  UNKNOWN_CLUSTER: 'UNKNOWN_CLUSTER',
  /** The cluster has no endpoint that can take the call. */
  NO_HEALTHY_UPSTREAM: 'NO_HEALTHY_UPSTREAM',
  /** A rate limit refused the call. */
  OVER_LIMIT: 'OVER_LIMIT',
  /** A cluster threshold (max requests / pending / connections / retries) overflowed. */
  OVERFLOW: 'OVERFLOW',
  /** The cluster's circuit breaker is open. */
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  /** The call's deadline passed before a reply arrived. */
  TIMEOUT: 'TIMEOUT',
  /** Bytes could not be framed or parsed by the protocol codec. */
  CODEC: 'CODEC',
  /** The upstream connection closed while the call was in flight. */
  UPSTREAM_RESET: 'UPSTREAM_RESET',
  /** The upstream connection could not be opened. */
  CONNECT_FAILURE: 'CONNECT_FAILURE',
  /** An authorization policy (AuthorizationPolicy, DubboAuthorizationPolicy) refused the call. */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** A fault-injection rule aborted the call. */
  FAULT_ABORT: 'FAULT_ABORT',
  /** Configuration is invalid. */
  CONFIG: 'CONFIG',
  /** The mesh or connection was closed by the application. */
  CLOSED: 'CLOSED',
  /** A bug or an unexpected state inside meta-mesh. */
  INTERNAL: 'INTERNAL',
} as const;

export type MeshErrorCode = (typeof MeshErrorCode)[keyof typeof MeshErrorCode];

const brand = Symbol.for('meta-mesh.MeshError');

export interface MeshErrorOptions {
  cause?: unknown | undefined;
  /** Extra structured facts (route config name, cluster, endpoint...). */
  details?: Record<string, string | number | boolean | undefined> | undefined;
}

export class MeshError extends Error {
  readonly code: MeshErrorCode;
  readonly details: Record<string, string | number | boolean | undefined>;

  constructor(code: MeshErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.details = options.details ?? {};
    (this as unknown as Record<symbol, boolean>)[brand] = true;
  }

  /** `instanceof` works across two copies of meta-mesh in one process. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** Wraps anything thrown into a MeshError, keeping MeshErrors as they are. */
  static from(reason: unknown, code: MeshErrorCode = MeshErrorCode.INTERNAL): MeshError {
    if (reason instanceof MeshError) return reason;
    return new MeshError(code, describeThrown(reason), { cause: reason });
  }
}

/**
 * A readable message for anything thrown: an Error's message, the `message`
 * of an error-like object (a Thrift exception struct), else its JSON, so no
 * caller ever reads "[object Object]".
 */
function describeThrown(reason: unknown): string {
  if (reason instanceof Error) return reason.message || reason.name;
  if (typeof reason !== 'object' || reason === null) return String(reason);
  const own = reason as { message?: unknown; name?: unknown; constructor?: { name?: unknown } };
  const kind = typeof own.name === 'string' ? own.name : typeof own.constructor?.name === 'string' && own.constructor.name !== 'Object' ? own.constructor.name : '';
  if (typeof own.message === 'string' && own.message !== '') return kind === '' ? own.message : `${kind}: ${own.message}`;
  let json: string | undefined;
  try {
    json = JSON.stringify(reason);
  } catch {
    json = undefined;
  }
  const text = json === undefined || json === '{}' ? Object.prototype.toString.call(reason) : json.length > 500 ? `${json.slice(0, 500)}...` : json;
  return kind === '' ? `thrown value ${text}` : `${kind} ${text}`;
}
