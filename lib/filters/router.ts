// The router: the terminal filter of every outbound chain. It matches the
// call's metadata against the service's route table, picks a weighted
// cluster, gives the call an x-request-id when it has none, fires mirrors,
// applies the request mutation and the route's fault policy, then sends the call through the cluster's circuit breaking and
// retries (the UpstreamSend handler does the per-try work).
import { randomUUID } from 'node:crypto';
import type { Cluster } from '../cluster/cluster';
import type { RouteTable } from '../route/route-table';
import type { Mirror } from '../route/mirror';
import { shouldMirror } from '../route/mirror';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { EncodeOptions } from '../protocol/codec';
import type { FaultInjector } from './fault-injection';
import type { Call, Handler, Reply } from './call';
import { sendWithRetries, type RouterEvents } from './upstream-send';
import { callDeadlineOf } from './call-deadline';

const REQUEST_ID = 'x-request-id';

export interface RouterContext {
  /** The service's compiled routes; undefined when no route config exists for it. */
  readonly routeTable: RouteTable | undefined;
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly mirror: Mirror;
  readonly faults?: FaultInjector;
  readonly events?: RouterEvents;
  readonly random?: () => number;
}

export function createRouter(ctx: RouterContext): Handler {
  const random = ctx.random ?? Math.random;
  const table = ctx.routeTable;
  const events = ctx.events ?? {};
  return async function route(call: Call): Promise<Reply | undefined> {
    if (table === undefined) {
      throw new MeshError(MeshErrorCode.NO_ROUTE, `no route config ${call.service.routeConfigName} for ${call.service.host}:${call.service.port}`, {
        details: { routeConfig: call.service.routeConfigName },
      });
    }
    const matched = table.match(call.metadata);
    if (matched === undefined) {
      throw new MeshError(
        MeshErrorCode.NO_ROUTE,
        `no route in ${table.name} matches ${describe(call)}; add a matching route (or a catch-all) to the MetaRouter for ${call.service.host}`,
        { details: { routeConfig: table.name } },
      );
    }
    const clusterName = matched.pickCluster(random());
    const cluster = ctx.clusters.get(clusterName);
    if (cluster === undefined) {
      throw new MeshError(MeshErrorCode.UNKNOWN_CLUSTER, `route ${matched.name} in ${table.name} names cluster ${clusterName}, which the mesh does not know`, {
        details: { routeConfig: table.name, cluster: clusterName },
      });
    }
    call.routeName = matched.name;
    call.cluster = clusterName;
    ensureRequestId(call);
    if (matched.requestMutation !== undefined) for (const [k, v] of matched.requestMutation) call.mutation.set(k, v);
    const options: EncodeOptions | undefined =
      call.mutation.size === 0 ? call.encodeOptions : { ...call.encodeOptions, mutation: call.mutation };
    const timeoutMs = matched.route.timeoutMs ?? call.timeoutMs;
    // The route's timeout is the call's deadline from here on: its signal follows.
    if (timeoutMs !== call.timeoutMs) callDeadlineOf(call)?.reset(timeoutMs);
    const hashKey = matched.hashKey(call.metadata);

    // Faults first, as Envoy's fault filter runs before the router: an aborted call is not mirrored either.
    if (matched.route.fault !== undefined && ctx.faults !== undefined) await ctx.faults.apply(matched.route.fault, random, matched.name, call.signal);

    for (const policy of matched.mirrors) {
      if (!shouldMirror(policy, random())) continue;
      const target = ctx.clusters.get(policy.cluster);
      if (target === undefined) continue;
      // The call's signal ends a mirror still queued and one in flight (mesh.close(), or the deadline while the call runs).
      const accepted = ctx.mirror.submit(
        async () => target.pick(call.codecFactory, hashKey).send(call.request, options, timeoutMs, call.expectReply, { signal: call.signal }),
        call.signal,
      );
      events.mirrored?.(policy.cluster, !accepted);
    }

    const reply = await sendWithRetries(call, cluster, { options, timeoutMs, hashKey, retry: matched.retry, events, random });
    if (reply === undefined) return undefined;
    return matched.responseMutation === undefined ? { message: reply } : { message: reply, mutation: matched.responseMutation };
  };
}

/**
 * MetaProtocol Proxy's router gives a call without `x-request-id` a UUID v4 and
 * writes it into the request mutation, so the codec carries it upstream (THeader
 * header, Dubbo attachment) and the access log shows it. One the call already
 * has is carried on unchanged.
 */
function ensureRequestId(call: Call): void {
  let id = call.metadata.get(REQUEST_ID);
  if (id === undefined || id === '') {
    id = randomUUID();
    call.metadata.set(REQUEST_ID, id);
  }
  if (!call.mutation.has(REQUEST_ID)) call.mutation.set(REQUEST_ID, id);
}

/** A short description of the call's metadata for error messages. */
function describe(call: Call): string {
  const parts: string[] = [];
  for (const [k, v] of call.metadata) {
    if (parts.length === 6) {
      parts.push('...');
      break;
    }
    parts.push(`${k}=${JSON.stringify(v)}`);
  }
  return `{${parts.join(', ')}}`;
}
