// Istio's peer metadata exchange between two meta-mesh services in two
// processes: the client sends its workload (a Mesh option), the server
// (workload from the environment Istio injects) answers with its own, and
// both sides' istio_requests_total carry the peer's workload labels.
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import * as thrift from 'thrift';
import { Mesh, Metadata } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import type { Attributes } from '@opentelemetry/api';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { createMetadataExchangeFilter, decodePeerMetadata, encodePeerMetadata, PEER_METADATA_ID_KEY, PEER_METADATA_KEY, peerOf, workloadMetadata } from '../../lib/telemetry';
import { writeMeshYaml } from '../support/mesh-yaml';
import { pointsWhere, registerOtelSdk } from './otel-sdk';
import { chain, testCall, testReply } from './test-call';

const HOST = 'calc.prod.svc.cluster.local';
const PORT = 9090;
const CLIENT = { NAME: 'web-7d9f-abc', NAMESPACE: 'shop', WORKLOAD_NAME: 'web', CLUSTER_ID: 'Kubernetes', LABELS: { app: 'web', version: 'v3' } };

/** The client's workload as Istio labels it, on both sides of a call. */
const CLIENT_LABELS = {
  source_workload: 'web',
  source_workload_namespace: 'shop',
  source_principal: 'unknown',
  source_app: 'web',
  source_version: 'v3',
  source_canonical_service: 'web',
  source_canonical_revision: 'v3',
  source_cluster: 'Kubernetes',
};

interface Point {
  attributes: Attributes;
  value: number | { count: number; sum: number };
}

function message<T>(child: ChildProcess, predicate: (m: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (typeof m === 'object' && m !== null && predicate(m as Record<string, unknown>)) {
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
  });
}

describe('peer metadata exchange', function () {
  this.timeout(60_000);

  it('encodes workload metadata as Istio does: base64 of a google.protobuf.Struct with sorted keys', () => {
    const encoded = encodePeerMetadata(CLIENT);
    const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace);
    const Struct = root.lookupType('google.protobuf.Struct');
    const decoded = Struct.toObject(Struct.decode(Buffer.from(encoded, 'base64'))) as { fields: Record<string, { stringValue?: string; structValue?: { fields: Record<string, { stringValue: string }> } }> };
    assert.equal(decoded.fields['WORKLOAD_NAME']!.stringValue, 'web');
    assert.equal(decoded.fields['LABELS']!.structValue!.fields['version']!.stringValue, 'v3');
    assert.deepEqual(Object.keys(decoded.fields), ['CLUSTER_ID', 'LABELS', 'NAME', 'NAMESPACE', 'WORKLOAD_NAME']);
    // Istio's deterministic serialization writes map entries in key order, so equal metadata gives equal bytes.
    assert.equal(encodePeerMetadata({ LABELS: { version: 'v3', app: 'web' }, WORKLOAD_NAME: 'web', NAMESPACE: 'shop', NAME: 'web-7d9f-abc', CLUSTER_ID: 'Kubernetes' }), encoded);
    assert.deepEqual(decodePeerMetadata(encoded), CLIENT);
    assert.equal(decodePeerMetadata('not base64 protobuf!'), undefined);
    assert.equal(decodePeerMetadata('A'.repeat(10_000)), undefined, 'a huge value is not decoded');
  });

  it('reads the workload from the environment Istio injects, a Mesh option winning per key', () => {
    const env = { POD_NAME: 'calc-1', POD_NAMESPACE: 'prod', INSTANCE_IP: '10.1.2.3', ISTIO_META_WORKLOAD_NAME: 'calc', ISTIO_METAJSON_LABELS: '{"app":"calc","version":"v2"}' };
    assert.deepEqual(workloadMetadata({ WORKLOAD_NAME: 'calc-canary' }, { env, labelsFile: '/nonexistent' }), {
      NAME: 'calc-1',
      NAMESPACE: 'prod',
      INSTANCE_IPS: '10.1.2.3',
      WORKLOAD_NAME: 'calc-canary',
      LABELS: { app: 'calc', version: 'v2' },
    });
  });

  it('sends ours outbound and answers with ours inbound; a peer\'s bad value is ignored', async () => {
    const filter = createMetadataExchangeFilter({ metadata: CLIENT, nodeId: 'sidecar~10.0.0.1~web-7d9f-abc.shop~shop.svc.cluster.local' });
    const server = encodePeerMetadata({ WORKLOAD_NAME: 'calc', NAMESPACE: 'prod' });
    const out = testCall();
    await chain([filter], async () => testReply({ metadata: { [PEER_METADATA_KEY]: server } }))(out);
    assert.equal(out.mutation.get(PEER_METADATA_KEY), encodePeerMetadata(CLIENT));
    assert.equal(out.mutation.get(PEER_METADATA_ID_KEY), 'sidecar~10.0.0.1~web-7d9f-abc.shop~shop.svc.cluster.local');
    assert.equal(peerOf(out)!.metadata.WORKLOAD_NAME, 'calc');
    const inbound = testCall({ direction: 'inbound', metadata: { method: 'add', [PEER_METADATA_KEY]: server } });
    const reply = await chain([filter])(inbound);
    assert.equal(reply!.mutation!.get(PEER_METADATA_KEY), encodePeerMetadata(CLIENT));
    assert.equal(peerOf(inbound)!.metadata.NAMESPACE, 'prod');
    const bad = testCall({ direction: 'inbound', metadata: { method: 'add', [PEER_METADATA_KEY]: '%%%' } });
    await chain([filter])(bad);
    assert.equal(peerOf(bad), undefined);
    assert.ok(new Metadata().get(PEER_METADATA_KEY) === undefined);
  });

  it('two meta-mesh services in two processes: both sides\' istio_requests_total carry the peer\'s workload', async () => {
    const child = fork(path.resolve(__dirname, '../support/istio-peer-server.js'), [], {
      env: {
        ...process.env,
        POD_NAME: 'calc-v2-5c6b-xyz',
        POD_NAMESPACE: 'prod',
        ISTIO_META_WORKLOAD_NAME: 'calc-v2',
        ISTIO_META_CLUSTER_ID: 'Kubernetes',
        ISTIO_METAJSON_LABELS: '{"app":"calc","version":"v2"}',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const sdk = registerOtelSdk();
    let mesh: Mesh | undefined;
    try {
      const { port } = await message<{ port: number }>(child, (m) => 'port' in m);
      mesh = await Mesh.start({
        config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port, version: 'v2' }] }),
        telemetry: { metrics: { istio: { enabled: true, nodeMetadata: CLIENT } } },
        logger: () => undefined,
      });
      const conn = createThriftConnection(mesh, HOST, PORT, { upstreamTransport: 'header' });
      const client = thrift.createClient(Calculator, conn);
      for (let i = 0; i < 5; i++) assert.equal(await client.add(i, 1), i + 1);

      const ours = pointsWhere<number>((await sdk.collect()).get('istio_requests_total'), { reporter: 'source' });
      assert.equal(ours.length, 1);
      assert.equal(ours[0]!.value, 5);
      assert.deepEqual(pick(ours[0]!.attributes, 'source_'), CLIENT_LABELS);
      assert.deepEqual(pick(ours[0]!.attributes, 'destination_'), {
        destination_workload: 'calc-v2',
        destination_workload_namespace: 'prod',
        destination_principal: 'unknown',
        destination_service: HOST,
        destination_service_name: 'calc',
        destination_service_namespace: 'prod',
        destination_app: 'calc',
        destination_version: 'v2',
        destination_canonical_service: 'calc',
        destination_canonical_revision: 'v2',
        destination_cluster: 'Kubernetes',
      });
      assert.equal(ours[0]!.attributes['request_protocol'], 'thrift');
      assert.equal(ours[0]!.attributes['response_flags'], '-');

      child.send('metrics');
      const theirs = await message<{ requests: Point[]; requestBytes: Point[] }>(child, (m) => 'requests' in m);
      const served = theirs.requests.filter((p) => p.attributes['reporter'] === 'destination');
      assert.equal(served.length, 1);
      assert.equal(served[0]!.value, 5);
      assert.deepEqual(pick(served[0]!.attributes, 'source_'), CLIENT_LABELS);
      assert.equal(served[0]!.attributes['destination_workload'], 'calc-v2');
      assert.equal(served[0]!.attributes['destination_app'], 'calc');
      assert.equal(served[0]!.attributes['connection_security_policy'], 'none');
      assert.equal((theirs.requestBytes[0]!.value as { count: number }).count, 5);
    } finally {
      await mesh?.close();
      await sdk.shutdown();
      child.send('exit');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

function pick(attributes: Attributes, prefix: string): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => k.startsWith(prefix)));
}
