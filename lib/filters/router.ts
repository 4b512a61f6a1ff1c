// The router: the terminal filter of every outbound chain. It matches the
// call's metadata against the service's route table, picks a weighted cluster,
// fires mirrors, applies the request mutation, and sends the call to an
// endpoint the cluster's balancer picks.
import type { Cluster } from '../cluster/cluster';
import type { RouteTable } from '../route/route-table';
import type { Mirror } from '../route/mirror';
import { shouldMirror } from '../route/mirror';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { EncodeOptions } from '../protocol/codec';
import type { Call, Handler, Reply } from './call';

export interface RouterContext {
  /** The service's compiled routes; undefined when no route config exists for it. */
  readonly routeTable: RouteTable | undefined;
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly mirror: Mirror;
  readonly random?: () => number;
}

export function createRouter(ctx: RouterContext): Handler {
  const random = ctx.random ?? Math.random;
  const table = ctx.routeTable;
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
    if (matched.requestMutation !== undefined) for (const [k, v] of matched.requestMutation) call.mutation.set(k, v);
    const options: EncodeOptions | undefined =
      call.mutation.size === 0 ? call.encodeOptions : { ...call.encodeOptions, mutation: call.mutation };
    const timeoutMs = matched.route.timeoutMs ?? call.timeoutMs;
    const hashKey = matched.hashKey(call.metadata);

    for (const policy of matched.mirrors) {
      if (!shouldMirror(policy, random())) continue;
      const target = ctx.clusters.get(policy.cluster);
      if (target === undefined) continue;
      ctx.mirror.submit(async () => target.pick(call.codecFactory, { hashKey }).send(call.request, options, timeoutMs, call.expectReply));
    }

    const host = cluster.pick(call.codecFactory, hashKey === undefined ? undefined : { hashKey });
    call.upstream = host.endpoint;
    const reply = await host.send(call.request, options, timeoutMs, call.expectReply);
    if (reply === undefined) return undefined;
    return matched.responseMutation === undefined ? { message: reply } : { message: reply, mutation: matched.responseMutation };
  };
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
