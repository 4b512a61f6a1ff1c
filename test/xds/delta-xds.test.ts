// Incremental (delta) xDS, checked by an independent server built directly on
// the real Envoy protos (not meta-mesh's subset): subscribe, unsubscribe,
// removal, NACK of a bad resource keeping the last good state, reconnect with
// initial_resource_versions, and the fall back to state of the world.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../lib/config/model';
import { ControlPlaneServer, TYPE_CDS, TYPE_EDS, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import { realEnvoy } from './real-envoy-protos';
import { HOST, V1, V2, sampleAssignment, sampleCluster } from './sample-resources';
import { defined } from '../support/defined';

type DeltaReq = {
  node?: { id?: string };
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string | undefined;
  error_detail?: { code?: number; message?: string };
};
type Kind = 'rds' | 'ads';
type Call = grpc.ServerDuplexStream<DeltaReq, object>;
type Body = object | { raw: Buffer };

const RC = `${HOST}_9090`;
const CODEC = { [TYPE_RDS]: 'RouteConfiguration', [TYPE_CDS]: 'Cluster', [TYPE_EDS]: 'ClusterLoadAssignment' } as const;

/** A bare delta xDS server on the real protos: queues every request per stream kind and type; the test answers by hand. */
class ReferenceDelta {
  readonly server = new grpc.Server();
  readonly calls: Record<Kind, Call | undefined> = { rds: undefined, ads: undefined };
  readonly sotwRequests: { kind: Kind; type_url: string | undefined }[] = [];
  private readonly queues = new Map<string, DeltaReq[]>();
  private waiting: (() => void)[] = [];
  port = 0;

  /** `delta: false` serves only the state-of-the-world methods (the delta ones answer UNIMPLEMENTED). */
  async start(delta = true): Promise<void> {
    const sotw = (kind: Kind) => (call: grpc.ServerDuplexStream<{ type_url?: string }, object>) => {
      call.on('data', (r: { type_url?: string }) => {
        this.sotwRequests.push({ kind, type_url: r.type_url });
        this.wake();
      });
      call.on('error', () => undefined);
    };
    const deltaFor = (kind: Kind) => (call: Call) => {
      this.calls[kind] = call;
      call.on('data', (r: DeltaReq) => {
        const key = `${kind} ${r.type_url}`;
        this.queues.set(key, [...(this.queues.get(key) ?? []), r]);
        this.wake();
      });
      call.on('error', () => undefined);
      call.on('end', () => call.end());
    };
    this.server.addService(realEnvoy().rds, { StreamRoutes: sotw('rds'), ...(delta ? { DeltaRoutes: deltaFor('rds') } : {}) });
    this.server.addService(realEnvoy().ads, { StreamAggregatedResources: sotw('ads'), ...(delta ? { DeltaAggregatedResources: deltaFor('ads') } : {}) });
    this.port = await new Promise((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next request of a type on a stream kind, in order. */
  async take(kind: Kind, typeUrl: string): Promise<DeltaReq> {
    for (;;) {
      const q = this.queues.get(`${kind} ${typeUrl}`);
      if (q !== undefined && q.length > 0) return q.shift()!;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((r) => this.waiting.push(r));
  }

  send(kind: Kind, typeUrl: keyof typeof CODEC, r: { version: string; nonce: string; resources?: { name: string; version: string; body: Body }[]; removed?: string[] }): void {
    const codec = realEnvoy().codecs[CODEC[typeUrl]];
    this.calls[kind]!.write({
      system_version_info: r.version,
      nonce: r.nonce,
      type_url: typeUrl,
      resources: (r.resources ?? []).map((x) => ({
        name: x.name,
        version: x.version,
        resource: { type_url: typeUrl, value: 'raw' in x.body ? x.body.raw : codec.encode(x.body) },
      })),
      removed_resources: r.removed ?? [],
    });
  }

  close(): void {
    for (const c of Object.values(this.calls)) c?.end();
    this.server.forceShutdown();
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}

function routeTo(cluster: string): object {
  return { name: RC, virtual_hosts: [{ name: 'dummy', routes: [{ name: `to-${cluster.split('|')[2]}`, match: { prefix: '/' }, route: { cluster } }] }] };
}

function clusterNamed(name: string, connectTimeoutSeconds = 1): object {
  return { ...sampleCluster(), name, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name }, connect_timeout: { seconds: String(connectTimeoutSeconds), nanos: 0 } };
}

function assignmentOf(name: string, address: string): object {
  const a = sampleAssignment() as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[] };
  const locality = defined(a.endpoints[0], 'a locality');
  const first = defined(locality.lb_endpoints[0], 'an endpoint');
  const endpoint = { ...first, endpoint: { ...first.endpoint, address: { socket_address: { address, port_value: 9090 } } } } as never;
  return { ...a, cluster_name: name, endpoints: [{ ...locality, lb_endpoints: [endpoint] }] };
}

function nextSnapshot(list: Snapshot[], count: number): Promise<Snapshot> {
  return new Promise((resolve) => {
    const poll = () => (list.length >= count ? resolve(list[count - 1]!) : setImmediate(poll));
    poll();
  });
}

const empty = (r: Record<string, string> | undefined) => r ?? {};

describe('delta xDS against a server on the real Envoy protos', () => {
  let server: ReferenceDelta | undefined;
  let source: XdsConfigSource | undefined;
  let cp: ControlPlaneServer | undefined;
  afterEach(async () => {
    source?.close();
    server?.close();
    await cp?.close();
    source = undefined;
    server = undefined;
    cp = undefined;
  });

  it('subscribes, ACKs by nonce, unsubscribes, refuses a bad response whole, resumes with initial versions and applies a removal', async () => {
    server = new ReferenceDelta();
    await server.start();
    const seen: Snapshot[] = [];
    const starting = XdsConfigSource.start({ metaRds: server.target, ads: server.target, services: [`${HOST}:9090`], nodeId: 'delta-node' }, (s) => seen.push(s));

    // Subscribe: node, the names, nothing held yet, no nonce.
    const r1 = await server.take('rds', TYPE_RDS);
    assert.equal(r1.node?.id, 'delta-node');
    assert.deepEqual(r1.resource_names_subscribe, [RC]);
    assert.deepEqual(empty(r1.initial_resource_versions), {});
    assert.equal(r1.response_nonce ?? '', '');
    server.send('rds', TYPE_RDS, { version: 's1', nonce: 'n1', resources: [{ name: RC, version: 'rc-a', body: routeTo(V1) }] });
    const ack1 = await server.take('rds', TYPE_RDS);
    assert.equal(ack1.response_nonce, 'n1');
    assert.equal(ack1.error_detail, undefined);
    assert.equal(ack1.node, undefined, 'node only on the first message of a stream');
    assert.deepEqual(ack1.resource_names_subscribe ?? [], [], 'an ACK names nothing new');

    const c1 = await server.take('ads', TYPE_CDS);
    assert.equal(c1.node?.id, 'delta-node');
    assert.deepEqual(c1.resource_names_subscribe, [V1]);
    server.send('ads', TYPE_CDS, { version: 'c1', nonce: 'a1', resources: [{ name: V1, version: 'v1-a', body: clusterNamed(V1) }] });
    assert.equal((await server.take('ads', TYPE_CDS)).response_nonce, 'a1');
    const e1 = await server.take('ads', TYPE_EDS);
    assert.deepEqual(e1.resource_names_subscribe, [V1]);
    server.send('ads', TYPE_EDS, { version: 'e1', nonce: 'a2', resources: [{ name: V1, version: 'e1-a', body: assignmentOf(V1, '10.0.0.1') }] });
    assert.equal((await server.take('ads', TYPE_EDS)).response_nonce, 'a2');
    source = await starting;
    assert.deepEqual([...source.snapshot!.clusters.keys()], [V1]);
    assert.deepEqual(source.snapshot!.clusters.get(V1)!.endpoints.map((e) => e.address), ['10.0.0.1']);
    assert.deepEqual(source.dump().servers.map((s) => s.protocol), ['delta', 'delta']);

    // Unsubscribe: the routes move to V2; CDS and EDS say only what changed.
    server.send('rds', TYPE_RDS, { version: 's2', nonce: 'n2', resources: [{ name: RC, version: 'rc-b', body: routeTo(V2) }] });
    assert.equal((await server.take('rds', TYPE_RDS)).response_nonce, 'n2');
    const c2 = await server.take('ads', TYPE_CDS);
    assert.deepEqual(c2.resource_names_subscribe, [V2]);
    assert.deepEqual(c2.resource_names_unsubscribe, [V1]);
    assert.equal(c2.response_nonce ?? '', '', 'a subscription change is not an ACK');
    const e2 = await server.take('ads', TYPE_EDS);
    assert.deepEqual(e2.resource_names_subscribe ?? [], []);
    assert.deepEqual(e2.resource_names_unsubscribe, [V1]);
    server.send('ads', TYPE_CDS, { version: 'c2', nonce: 'a3', resources: [{ name: V2, version: 'v2-a', body: clusterNamed(V2) }] });
    assert.equal((await server.take('ads', TYPE_CDS)).response_nonce, 'a3');
    assert.deepEqual((await server.take('ads', TYPE_EDS)).resource_names_subscribe, [V2]);
    server.send('ads', TYPE_EDS, { version: 'e2', nonce: 'a4', resources: [{ name: V2, version: 'e2-a', body: assignmentOf(V2, '10.0.0.2') }] });
    assert.equal((await server.take('ads', TYPE_EDS)).response_nonce, 'a4');
    const moved = await nextSnapshot(seen, 2);
    assert.deepEqual([...moved.clusters.keys()], [V2]);
    assert.deepEqual(moved.clusters.get(V2)!.endpoints.map((e) => e.address), ['10.0.0.2']);

    // NACK: a valid change to V2 next to bytes that do not decode; nothing of it is applied.
    const count = seen.length;
    server.send('ads', TYPE_CDS, {
      version: 'c3',
      nonce: 'a5',
      resources: [
        { name: V2, version: 'v2-b', body: clusterNamed(V2, 7) },
        { name: 'junk', version: 'x', body: { raw: Buffer.from([0x0a, 0xff]) } },
      ],
    });
    const nack = await server.take('ads', TYPE_CDS);
    assert.equal(nack.response_nonce, 'a5');
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? '', /could not be decoded/);
    assert.equal(seen.length, count, 'no snapshot for a refused response');
    assert.equal(source.snapshot, moved);
    assert.equal(source.snapshot!.clusters.get(V2)!.connectTimeoutMs, 1000, 'the last good cluster stays');
    const v2 = source.dump().resources.find((r) => r.typeUrl === TYPE_CDS && r.name === V2)!;
    // V2 itself was valid: it stays ACKED at the version in use; the refusal is the response's.
    assert.equal(v2.clientStatus, 'ACKED');
    assert.equal(v2.versionInfo, 'c2');

    // Reconnect: the new stream's first requests name what is held, at the versions accepted (not the refused one).
    server.calls.ads!.end();
    const c4 = await server.take('ads', TYPE_CDS);
    assert.equal(c4.node?.id, 'delta-node', 'node on the first message of the new stream');
    assert.deepEqual(c4.resource_names_subscribe, [V2]);
    assert.deepEqual(c4.initial_resource_versions, { [V2]: 'v2-a' });
    assert.equal(c4.response_nonce ?? '', '');
    const e4 = await server.take('ads', TYPE_EDS);
    assert.deepEqual(e4.resource_names_subscribe, [V2]);
    assert.deepEqual(e4.initial_resource_versions, { [V2]: 'e2-a' });

    // Removal: the server deletes V2; the routes still name it, so it is known not to exist.
    server.send('ads', TYPE_CDS, { version: 'c5', nonce: 'a6', removed: [V2] });
    const ack6 = await server.take('ads', TYPE_CDS);
    assert.equal(ack6.response_nonce, 'a6');
    assert.equal(ack6.error_detail, undefined);
    const removed = await nextSnapshot(seen, count + 1);
    assert.deepEqual([...removed.clusters.keys()], []);
    assert.match(removed.warnings.join('\n'), /CDS outbound\|9090\|v2\|.* is not served/);
    assert.equal(source.dump().resources.find((r) => r.typeUrl === TYPE_CDS && r.name === V2)!.clientStatus, 'DOES_NOT_EXIST');
  });

  it('falls back to state of the world when the server answers the delta streams UNIMPLEMENTED', async () => {
    server = new ReferenceDelta();
    await server.start(false);
    void XdsConfigSource.start({ metaRds: server.target, ads: server.target, services: [`${HOST}:9090`], waitForConfigMs: 5000 }, () => undefined).then(
      (s) => (source = s),
      () => undefined,
    );
    await server.until(() => server!.sotwRequests.some((r) => r.kind === 'rds' && r.type_url === TYPE_RDS));
    assert.deepEqual(server.sotwRequests[0], { kind: 'rds', type_url: TYPE_RDS });
  });

  it("with xds.protocol 'delta' fails against a server without delta, saying what to change", async () => {
    server = new ReferenceDelta();
    await server.start(false);
    await assert.rejects(
      XdsConfigSource.start({ metaRds: server.target, ads: server.target, services: [`${HOST}:9090`], protocol: 'delta', onControlPlaneDown: 'error' }, () => undefined),
      /DeltaRoutes is UNIMPLEMENTED.*xds\.protocol/,
    );
    assert.deepEqual(server.sotwRequests, []);
  });

  it("rejects an unknown xds.protocol", async () => {
    await assert.rejects(XdsConfigSource.start({ metaRds: '127.0.0.1:1', protocol: 'incremental' as never }, () => undefined), /xds\.protocol must be one of 'auto', 'delta', 'sotw'/);
  });

  it("speaks state of the world to the local control plane with xds.protocol 'sotw', delta by default", async () => {
    cp = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
    cp.setRawResources(TYPE_RDS, [routeTo(V1)]);
    cp.setRawResources(TYPE_CDS, [clusterNamed(V1)]);
    cp.setRawResources(TYPE_EDS, [assignmentOf(V1, '10.0.0.1')]);
    const kinds = new Set<string>();
    cp.on('request', (r) => kinds.add('version_info' in r || 'resource_names' in r ? 'sotw' : 'delta'));
    const target = `127.0.0.1:${cp.port}`;
    source = await XdsConfigSource.start({ metaRds: target, ads: target, services: [`${HOST}:9090`], protocol: 'sotw' }, () => undefined);
    assert.deepEqual(source.dump().servers.map((s) => s.protocol), ['sotw', 'sotw']);
    assert.deepEqual([...kinds], ['sotw']);
    source.close();
    kinds.clear();
    source = await XdsConfigSource.start({ metaRds: target, ads: target, services: [`${HOST}:9090`] }, () => undefined);
    assert.deepEqual(source.dump().servers.map((s) => s.protocol), ['delta', 'delta']);
    assert.deepEqual([...kinds], ['delta']);
    assert.deepEqual(source.snapshot!.clusters.get(V1)!.endpoints.map((e) => e.address), ['10.0.0.1']);
  });
});

describe('the local control plane serving delta xDS to a client on the real Envoy protos', () => {
  let cp: ControlPlaneServer | undefined;
  let client: grpc.Client | undefined;
  afterEach(async () => {
    client?.close();
    await cp?.close();
    cp = undefined;
    client = undefined;
  });

  type Resp = { system_version_info?: string; resources?: { name?: string; version?: string }[]; removed_resources?: string[]; nonce?: string };

  function open(port: number) {
    const Ads = grpc.makeGenericClientConstructor(realEnvoy().ads, 'ADS');
    client = new Ads(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (client as unknown as { DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaReq, Resp> }).DeltaAggregatedResources();
    const responses: Resp[] = [];
    let wake: (() => void) | undefined;
    call.on('data', (r: Resp) => {
      responses.push(r);
      wake?.();
    });
    call.on('error', () => undefined);
    const next = async (n: number): Promise<Resp> => {
      while (responses.length < n) await new Promise<void>((r) => (wake = r));
      return responses[n - 1]!;
    };
    return { call, next };
  }

  const names = (r: Resp) => (r.resources ?? []).map((x) => x.name).sort();

  it('sends only what changed, says what is gone or missing, and honours initial_resource_versions', async () => {
    cp = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
    cp.setRawResources(TYPE_EDS, [assignmentOf(V1, '10.0.0.1'), assignmentOf(V2, '10.0.0.2')]);
    const a = open(cp.port);
    a.call.write({ node: { id: 'raw' }, type_url: TYPE_EDS, resource_names_subscribe: [V1, V2, 'nope'] });
    const first = await a.next(1);
    assert.deepEqual(names(first), [V1, V2].sort());
    assert.deepEqual(first.removed_resources, ['nope'], 'a name asked for that does not exist');
    const held = Object.fromEntries((first.resources ?? []).map((r) => [r.name!, r.version!]));
    a.call.write({ type_url: TYPE_EDS, response_nonce: first.nonce });

    // One endpoint changes in V1: only V1 is sent.
    cp.setRawResources(TYPE_EDS, [assignmentOf(V1, '10.0.0.9'), assignmentOf(V2, '10.0.0.2')]);
    const second = await a.next(2);
    assert.deepEqual(names(second), [V1]);
    assert.deepEqual(second.removed_resources ?? [], []);
    assert.notEqual(defined(second.resources?.[0], 'a resource').version, held[V1]);

    // Unsubscribing V2 and then deleting it: nothing is sent about V2; V1 deleted is sent as removed.
    a.call.write({ type_url: TYPE_EDS, resource_names_unsubscribe: [V2] });
    cp.setRawResources(TYPE_EDS, [assignmentOf(V2, '10.0.0.2')]);
    const third = await a.next(3);
    assert.deepEqual(names(third), []);
    assert.deepEqual(third.removed_resources, [V1]);
    a.call.end();
    client!.close();

    // A new stream holding V2 at its current version, and V1 at an old one that no longer exists: V2 is not sent again.
    cp.setRawResources(TYPE_EDS, [assignmentOf(V2, '10.0.0.2')]);
    const b = open(cp.port);
    b.call.write({ node: { id: 'raw' }, type_url: TYPE_EDS, resource_names_subscribe: [V1, V2], initial_resource_versions: { [V2]: defined(held[V2]), [V1]: defined(held[V1]) } });
    const resumed = await b.next(1);
    assert.deepEqual(names(resumed), []);
    assert.deepEqual(resumed.removed_resources, [V1]);
  });
});
