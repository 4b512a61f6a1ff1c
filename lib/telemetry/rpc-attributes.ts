// The RPC semantic-convention facts of a call, shared by spans, metrics and
// access logs: system name, fully qualified method, and how the call ended.
import type { Call, Reply } from '../filters/call';
import { MeshError } from '../protocol/mesh-error';

/**
 * rpc.system.name per codec protocol. Semconv has `dubbo`; it has no value
 * for Thrift, so meta-mesh uses the custom `apache_thrift` (the name the
 * deprecated rpc.system used for Dubbo's project, applied to Thrift's).
 */
export const DEFAULT_SYSTEM_NAMES: Readonly<Record<string, string>> = Object.freeze({
  thrift: 'apache_thrift',
  dubbo: 'dubbo',
});

/**
 * Reply metadata key under which a codec may report the protocol's own status
 * name (Dubbo: OK, SERVER_ERROR, SERVICE_ERROR...). Used as rpc.status_code.
 */
export const RPC_STATUS_METADATA_KEY = 'rpc.status_code';

/** Status of a call that ended with a good reply (or a oneway call that was sent). */
export const STATUS_OK = 'OK';
/** Status of an error reply whose codec reported no status name. */
export const STATUS_ERROR = 'ERROR';
/** error.type of an error reply whose codec reported no status name. */
export const ERROR_REPLY = 'error-reply';

/** Maps codec protocols to rpc.system.name; compiled once per filter. */
export function systemNameResolver(overrides: Readonly<Record<string, string>> | undefined): (protocol: string) => string {
  const names = new Map<string, string>(Object.entries({ ...DEFAULT_SYSTEM_NAMES, ...overrides }));
  return (protocol) => names.get(protocol) ?? protocol;
}

/**
 * rpc.method: `Service/method` from metadata `service` (Thrift multiplexing)
 * or `interface` (Dubbo) and `method-name` (Thrift) or `method`; just `method` when the protocol does
 * not name a service (plain Thrift). Reuses the codec's operationName when it
 * already has that form, so the common case allocates nothing.
 */
export function rpcMethod(call: Call): string {
  const md = call.metadata;
  const op = call.request.operationName;
  // Thrift's `method` is the wire name (`Service:method`); its bare part is `method-name`.
  const method = md.get('method-name') ?? md.get('method');
  if (method === undefined) return op === '' ? '_OTHER' : op;
  const service = md.get('service') ?? md.get('interface');
  if (service === undefined) return method;
  if (op.length === service.length + 1 + method.length && op.startsWith(service) && op.endsWith(method) && op.charCodeAt(service.length) === 47) {
    return op;
  }
  return `${service}/${method}`;
}

/** rpc.status_code of a finished call. */
export function statusCodeOf(reply: Reply | undefined, error: unknown): string {
  if (error !== undefined) return errorTypeOfThrown(error);
  if (reply === undefined) return STATUS_OK;
  const reported = reply.message.metadata.get(RPC_STATUS_METADATA_KEY);
  if (reported !== undefined) return reported;
  return isErrorReply(reply) ? STATUS_ERROR : STATUS_OK;
}

/** error.type of a finished call, undefined when it succeeded. */
export function errorTypeOf(reply: Reply | undefined, error: unknown): string | undefined {
  if (error !== undefined) return errorTypeOfThrown(error);
  if (reply === undefined || !isErrorReply(reply)) return undefined;
  return reply.message.metadata.get(RPC_STATUS_METADATA_KEY) ?? ERROR_REPLY;
}

/** An application error (ok false) or a protocol exception (type 'error'). */
export function isErrorReply(reply: Reply): boolean {
  return reply.message.ok === false || reply.message.type === 'error';
}

function errorTypeOfThrown(error: unknown): string {
  if (error instanceof MeshError) return error.code;
  // Low cardinality: a class name, never a message.
  return error instanceof Error && error.name !== '' ? error.name : '_OTHER';
}

/** Splits an "address:port" endpoint (IPv6 in brackets or bare) into its parts. */
export function splitEndpoint(endpoint: string): { address: string; port: number | undefined } {
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) return { address: endpoint, port: undefined };
  const port = Number(endpoint.slice(colon + 1));
  let address = endpoint.slice(0, colon);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  return Number.isInteger(port) ? { address, port } : { address: endpoint, port: undefined };
}
