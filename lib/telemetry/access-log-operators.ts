// Envoy's access-log command operators (%START_TIME%, %REQ(X)%, ...), each
// compiled once into a getter over an AccessLogEntry. A getter returns a
// string, a number, or undefined for a value meta-mesh does not have (Envoy
// prints "-" in text and null in JSON for those).
import * as os from 'node:os';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { AccessLogEntry } from './access-log-entry';
import { isoTime } from './access-log-format';

export type OperatorValue = string | number | undefined;
export type OperatorGetter = (e: AccessLogEntry) => OperatorValue;

const APPLICATION_PROTOCOL_KEY = 'x-meta-protocol-application-protocol';
const none: OperatorGetter = () => undefined;

/** Operators that take no argument. Socket addresses meta-mesh does not track read as missing, as in Envoy. */
const SIMPLE: Readonly<Record<string, OperatorGetter>> = {
  DURATION: (e) => e.durationMs,
  RESPONSE_CODE: (e) => e.responseCode,
  RESPONSE_CODE_DETAILS: (e) => e.responseCodeDetails,
  RESPONSE_FLAGS: (e) => e.responseFlags,
  CONNECTION_TERMINATION_DETAILS: none,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (e) => e.upstreamTransportFailureReason,
  BYTES_RECEIVED: (e) => e.bytesReceived,
  BYTES_SENT: (e) => e.bytesSent,
  UPSTREAM_HOST: (e) => e.upstreamHost,
  UPSTREAM_CLUSTER: (e) => e.upstreamCluster,
  UPSTREAM_CLUSTER_RAW: (e) => e.upstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: none,
  UPSTREAM_REMOTE_ADDRESS: (e) => e.upstreamHost,
  DOWNSTREAM_LOCAL_ADDRESS: none,
  DOWNSTREAM_REMOTE_ADDRESS: none,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: none,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: none,
  REQUESTED_SERVER_NAME: none,
  ROUTE_NAME: (e) => e.routeName,
  PROTOCOL: (e) => e.applicationProtocol,
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (e) => e.attemptCount,
  HOSTNAME: () => os.hostname(),
  // Not Envoy's: the RPC operation ("Service/method"), the traffic direction.
  OPERATION_NAME: (e) => e.operationName,
  DIRECTION: (e) => e.direction,
};

/** Names accepted, for error messages. */
export const OPERATOR_NAMES: readonly string[] = Object.freeze([...Object.keys(SIMPLE), 'START_TIME', 'REQ', 'RESP'].sort());

/** Compiles `%NAME(arg)%` (arg undefined when absent) into a getter, or throws a CONFIG error naming the operator. */
export function compileOperator(name: string, arg: string | undefined): OperatorGetter {
  if (name === 'START_TIME') return arg === undefined || arg === '' ? (e) => isoTime(e.startTime) : startTimeFormatter(arg);
  if (name === 'REQ' || name === 'RESP') {
    if (arg === undefined || arg === '') throw configError(`%${name}(...)% needs a key, e.g. %${name}(X-REQUEST-ID)%`);
    const [first, second] = arg.split('?').map((k) => k.toLowerCase());
    const read =
      name === 'REQ'
        ? (key: string): OperatorGetter => (key === APPLICATION_PROTOCOL_KEY ? (e) => e.applicationProtocol : (e) => e.requestMetadata.get(key))
        : (key: string): OperatorGetter => (e) => e.responseMetadata?.get(key);
    const a = read(first!);
    if (second === undefined) return a;
    const b = read(second);
    return (e) => a(e) ?? b(e);
  }
  const getter = SIMPLE[name];
  if (getter === undefined) throw configError(`unknown command operator %${name}%; meta-mesh knows ${OPERATOR_NAMES.map((n) => `%${n}%`).join(', ')}`);
  if (arg !== undefined) throw configError(`%${name}% takes no argument`);
  return getter;
}

/** %START_TIME(fmt)%: a strftime subset plus Envoy's %f, %3f, %6f, %9f (fractions of a second), in UTC. */
function startTimeFormatter(format: string): OperatorGetter {
  const parts: ((d: Date, ms: number) => string)[] = [];
  const literal = (text: string) => parts.push(() => text);
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      literal(format.slice(i));
      break;
    }
    if (pct > i) literal(format.slice(i, pct));
    const rest = format.slice(pct + 1);
    const m = /^([0-9]?)([YmdHMSzsfjZ%])/.exec(rest);
    if (m === null) throw configError(`%START_TIME(${format})%: unsupported conversion %${rest.slice(0, 2)}; use %Y %m %d %H %M %S %j %z %Z %s %f %3f %6f %9f`);
    const digits = m[1] === '' ? undefined : Number(m[1]);
    parts.push(conversion(m[2]!, digits, format));
    i = pct + 1 + m[0].length;
  }
  return (e) => {
    const d = new Date(Math.floor(e.startTime));
    let out = '';
    for (const part of parts) out += part(d, e.startTime);
    return out;
  };
}

function conversion(c: string, digits: number | undefined, format: string): (d: Date, ms: number) => string {
  if (digits !== undefined && c !== 'f') throw configError(`%START_TIME(${format})%: only %f takes a digit count`);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  switch (c) {
    case 'Y': return (d) => String(d.getUTCFullYear());
    case 'm': return (d) => pad(d.getUTCMonth() + 1);
    case 'd': return (d) => pad(d.getUTCDate());
    case 'H': return (d) => pad(d.getUTCHours());
    case 'M': return (d) => pad(d.getUTCMinutes());
    case 'S': return (d) => pad(d.getUTCSeconds());
    case 'j': return (d) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
    case 'z': return () => '+0000';
    case 'Z': return () => 'UTC';
    case 's': return (d) => String(Math.floor(d.getTime() / 1000));
    case '%': return () => '%';
    default: {
      // %f: the fraction of the second, 9 digits unless told (only ms are known; the rest are zeros).
      const width = digits ?? 9;
      return (_d, ms) => {
        const frac = Math.floor(((ms % 1000) + 1000) % 1000 * 1_000_000);
        return pad(frac, 9).slice(0, width);
      };
    }
  }
}

function configError(message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, `access log format: ${message}`);
}
