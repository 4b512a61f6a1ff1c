// The inbound authorization filter: asks the snapshot's Authorizer about each
// call, from what the connection proves (peer address, verified principal)
// and what the codec decoded (method, interface). A denied call fails with
// PERMISSION_DENIED, which the server answers in the protocol's own error;
// the handler never runs.
import type { Call, Filter } from '../filters/call';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { AuthzDecision, AuthzRequest } from './authorizer';

export interface AuthorizationStats {
  allowed: number;
  denied: number;
  audited: number;
}

export interface AuthorizationFilterOptions {
  /** Logs each denied call and each audited one (rate is the caller's business: one line per call). */
  readonly log?: ((message: string) => void) | undefined;
  /** Counters shared across snapshots. */
  readonly stats: AuthorizationStats;
}

/** Anything that decides calls: the YAML policies' Authorizer, or an inbound listener's RBAC. */
export interface CallAuthorizer {
  check(r: AuthzRequest): AuthzDecision;
}

export function createAuthorizationFilter(authorizer: CallAuthorizer, options: AuthorizationFilterOptions): Filter {
  const { stats, log } = options;
  return (next) => (call) => {
    const request = authzRequestOf(call);
    const decision = authorizer.check(request);
    if (decision.audited !== undefined) {
      stats.audited++;
      log?.(`meta-mesh: audit: ${describe(request)} matched ${decision.audited.join(', ')}`);
    }
    if (decision.allowed) {
      stats.allowed++;
      return next(call);
    }
    stats.denied++;
    const why = decision.policy === undefined ? 'no ALLOW policy matched it' : `${decision.policy} denies it`;
    const message = `${describe(request)} is not authorized: ${why}; change the AuthorizationPolicy (or DubboAuthorizationPolicy) of this workload to allow it`;
    log?.(`meta-mesh: ${message}`);
    return Promise.reject(
      new MeshError(MeshErrorCode.PERMISSION_DENIED, message, {
        details: { policy: decision.policy, principal: request.principal, sourceIp: request.ip },
      }),
    );
  };
}

export function authzRequestOf(call: Call): AuthzRequest {
  const peer = call.peer;
  return {
    principal: peer?.principal ?? '',
    namespace: peer?.namespace ?? '',
    ip: peer?.address ?? '',
    port: call.service.port,
    protocol: call.codec.protocol,
    method: call.request.operationName,
    metadata: call.metadata,
  };
}

function describe(r: AuthzRequest): string {
  const who = r.principal === '' ? `${r.ip || 'an unknown peer'} (no verified identity)` : `${r.principal} at ${r.ip}`;
  return `call ${r.method} on port ${r.port} from ${who}`;
}
