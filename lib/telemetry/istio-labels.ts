// IstioLabels: the label sets of Istio's standard metrics for a call. They
// depend only on the reporter, the local node, the destination (the cluster
// outbound, the served service inbound) and the response code, so each set
// is built once and reused: recording an Istio sample allocates nothing.
import type { Attributes } from '@opentelemetry/api';
import type { Call } from '../filters/call';
import type { IstioOptions, NodeMetadata } from './telemetry-options';

const UNKNOWN = 'unknown';
// Past this many destinations (ALLOW_ANY traffic to many hosts), label sets are built per call instead of kept.
const MAX_CACHED = 1024;

interface Workload {
  workload: string;
  namespace: string;
  app: string;
  version: string;
}

export class IstioLabels {
  private readonly local: Workload;
  private readonly inboundService: string | undefined;
  private readonly principal: string;
  private readonly cache = new Map<string, readonly [ok: Attributes, error: Attributes]>();

  constructor(options: IstioOptions) {
    this.local = localWorkload(options.nodeMetadata);
    this.inboundService = options.inboundService;
    this.principal = options.principal ?? UNKNOWN;
  }

  /** The labels of `call`, which ended ok or not (response_code 0 or 1). */
  labels(call: Call, ok: boolean): Attributes {
    const outbound = call.direction === 'outbound';
    // Inbound sets differ by the caller's verified principal (few per server: the services that call it).
    const key = outbound ? (call.cluster ?? `|||${call.service.host}`) : `in|${call.service.host}|${call.peer?.principal ?? ''}`;
    let pair = this.cache.get(key);
    if (pair === undefined) {
      pair = [this.build(call, outbound, '0'), this.build(call, outbound, '1')];
      if (this.cache.size < MAX_CACHED) this.cache.set(key, pair);
    }
    return ok ? pair[0] : pair[1];
  }

  private build(call: Call, outbound: boolean, responseCode: string): Attributes {
    let source: Workload;
    let destination: Workload;
    let service: string;
    let sourcePrincipal: string;
    if (outbound) {
      sourcePrincipal = this.principal;
      // Peer metadata is not exchanged (yet): the destination is what the cluster name says.
      const target = parseClusterName(call.cluster) ?? { host: call.service.host, subset: '' };
      service = target.host;
      source = this.local;
      destination = { workload: UNKNOWN, namespace: namespaceOf(target.host), app: UNKNOWN, version: target.subset || UNKNOWN };
    } else {
      service = this.inboundService ?? (call.service.host.startsWith('inbound|') ? UNKNOWN : call.service.host);
      source = { workload: UNKNOWN, namespace: call.peer?.namespace ?? UNKNOWN, app: UNKNOWN, version: UNKNOWN };
      sourcePrincipal = call.peer?.principal === undefined ? UNKNOWN : `spiffe://${call.peer.principal}`;
      destination = this.local;
    }
    return Object.freeze({
      reporter: outbound ? 'source' : 'destination',
      source_workload: source.workload,
      source_workload_namespace: source.namespace,
      source_app: source.app,
      source_version: source.version,
      source_principal: sourcePrincipal,
      destination_workload: destination.workload,
      destination_workload_namespace: destination.namespace,
      destination_service: service,
      destination_service_name: service === UNKNOWN ? UNKNOWN : shortName(service),
      destination_app: destination.app,
      destination_version: destination.version,
      response_code: responseCode,
    });
  }
}

function localWorkload(node: NodeMetadata | undefined): Workload {
  const labels = node?.LABELS ?? {};
  return {
    workload: node?.WORKLOAD_NAME ?? UNKNOWN,
    namespace: node?.NAMESPACE ?? UNKNOWN,
    app: labels['app'] ?? labels['app.kubernetes.io/name'] ?? UNKNOWN,
    version: labels['version'] ?? labels['app.kubernetes.io/version'] ?? UNKNOWN,
  };
}

/** `outbound|<port>|<subset>|<host>` → host and subset. */
function parseClusterName(cluster: string | undefined): { host: string; subset: string } | undefined {
  if (cluster === undefined) return undefined;
  const parts = cluster.split('|');
  if (parts.length !== 4 || parts[3] === '') return undefined;
  return { host: parts[3]!, subset: parts[2]! };
}

/** The namespace of a Kubernetes service host `<name>.<namespace>.svc[.<domain>]`. */
function namespaceOf(host: string): string {
  const parts = host.split('.');
  return parts.length >= 3 && parts[2] === 'svc' ? parts[1]! : UNKNOWN;
}

/** What Istio's stats call the service name: the host up to its first dot. */
function shortName(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}
