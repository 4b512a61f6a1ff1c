// AccessLogEntry: the facts of one finished call, named after the Envoy
// command operators of Aeraki's access log (§ access log in the reference),
// from which the text and JSON lines are written.
import type { Call, Reply } from '../filters/call';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { Metadata } from '../protocol/metadata';
import { responseFlagsOf } from './response-flags';
import { isErrorReply } from './rpc-attributes';

export interface AccessLogEntry {
  /** %START_TIME%: epoch ms at which the call entered meta-mesh. */
  readonly startTime: number;
  readonly direction: Call['direction'];
  /** %REQ(X-META-PROTOCOL-APPLICATION-PROTOCOL)%: the metadata key if set, else the codec's protocol. */
  readonly applicationProtocol: string;
  /** %RESPONSE_CODE%: 0 ok, 1 error (the reference's ResponseStatus). */
  readonly responseCode: 0 | 1;
  /** %RESPONSE_CODE_DETAILS%: via_upstream, or why meta-mesh answered itself (no_matched_route...). */
  readonly responseCodeDetails: string;
  /** %UPSTREAM_TRANSPORT_FAILURE_REASON%, for connect failures and resets. */
  readonly upstreamTransportFailureReason: string | undefined;
  /** %BYTES_RECEIVED%: bytes of the request. */
  readonly bytesReceived: number;
  /** %BYTES_SENT%: bytes of the reply (0 when there was none). */
  readonly bytesSent: number;
  /** %DURATION%: whole ms. */
  readonly durationMs: number;
  readonly forwardedFor: string | undefined;
  readonly requestId: string | undefined;
  readonly upstreamCluster: string | undefined;
  /** The endpoint called, "address:port" (not in the reference's format; kept for custom formats). */
  readonly upstreamHost: string | undefined;
  readonly routeName: string | undefined;
  /** "Service/method" or "method". */
  readonly operationName: string;
  /** %RESPONSE_FLAGS%: Envoy's short flags for why meta-mesh answered itself (NR, UH, UO, UT, ...), "-" when it did not. */
  readonly responseFlags: string;
  /** %UPSTREAM_REQUEST_ATTEMPT_COUNT%: tries made (1 without retries). */
  readonly attemptCount: number;
  /** %REQ(...)%: the request's metadata (codec keys, THeader headers, Dubbo attachments), not copied. */
  readonly requestMetadata: Metadata;
  /** %RESP(...)%: the reply's metadata, when there was a reply. */
  readonly responseMetadata: Metadata | undefined;
}

/**
 * Details of local replies. The reference's names (§1.6) where it has one;
 * Envoy's HTTP names for the cases the reference lacks.
 */
const DETAILS: Readonly<Record<string, string>> = {
  [MeshErrorCode.NO_ROUTE]: 'no_matched_route',
  [MeshErrorCode.UNKNOWN_CLUSTER]: 'unknown_cluster',
  [MeshErrorCode.NO_HEALTHY_UPSTREAM]: 'no_healthy_upstream',
  [MeshErrorCode.OVER_LIMIT]: 'rate_limited',
  [MeshErrorCode.OVERFLOW]: 'upstream_overflow',
  [MeshErrorCode.CIRCUIT_OPEN]: 'circuit_open',
  [MeshErrorCode.TIMEOUT]: 'upstream_response_timeout',
  [MeshErrorCode.CODEC]: 'codec_error',
  [MeshErrorCode.UPSTREAM_RESET]: 'upstream_reset',
  [MeshErrorCode.CONNECT_FAILURE]: 'upstream_connect_failure',
  [MeshErrorCode.FAULT_ABORT]: 'fault_filter_abort',
  [MeshErrorCode.PERMISSION_DENIED]: 'rbac_access_denied',
  [MeshErrorCode.CLOSED]: 'closed',
  [MeshErrorCode.INTERNAL]: 'internal_error',
};

export function accessLogEntry(call: Call, reply: Reply | undefined, error: unknown, endTime: number, timeOrigin: number): AccessLogEntry {
  const md = call.metadata;
  let details = 'via_upstream';
  let failure: string | undefined;
  let code: MeshErrorCode | undefined;
  if (error !== undefined) {
    code = error instanceof MeshError ? error.code : MeshErrorCode.INTERNAL;
    details = DETAILS[code] ?? code.toLowerCase();
    if (code === MeshErrorCode.CONNECT_FAILURE || code === MeshErrorCode.UPSTREAM_RESET) failure = (error as Error).message;
  }
  return {
    startTime: timeOrigin + call.startTime,
    direction: call.direction,
    applicationProtocol: md.get('x-meta-protocol-application-protocol') ?? call.codec.protocol,
    responseCode: error !== undefined || (reply !== undefined && isErrorReply(reply)) ? 1 : 0,
    responseCodeDetails: details,
    upstreamTransportFailureReason: failure,
    bytesReceived: call.request.frame.length,
    bytesSent: reply?.message.frame.length ?? 0,
    durationMs: Math.max(0, Math.trunc(endTime - call.startTime)),
    forwardedFor: md.get('x-forwarded-for'),
    requestId: md.get('x-request-id'),
    upstreamCluster: call.cluster,
    upstreamHost: call.upstream,
    routeName: call.routeName,
    operationName: call.request.operationName,
    responseFlags: responseFlagsOf(code),
    attemptCount: call.tryCount ?? 1,
    requestMetadata: md,
    responseMetadata: reply?.message.metadata,
  };
}
