// Reading a ClusterLoadAssignment a chunk of endpoints at a time from its
// bytes must give what decoding it whole and translating gives: the same
// endpoints, the same refusals; and a bad endpoint anywhere in a response
// refuses (NACKs) the whole response and keeps the last good endpoints.
import assert from 'node:assert/strict';
import type { MethodDefinition } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import type { Endpoint } from '../../lib/config/model';
import { runNow } from '../../lib/config/sliced-work';
import { MeshError } from '../../lib/protocol';
import { applyResponse } from '../../lib/xds/apply-response';
import { ENDPOINTS_PER_STEP, assignmentNameOf, endpointStepsFromBytes, endpointsFromBytes } from '../../lib/xds/assignment-reader';
import { checkAssignment, endpointsFromXds } from '../../lib/xds/cluster-from-xds';
import { edsResourceType } from '../../lib/xds/eds-resource-type';
import type { ClusterLoadAssignmentProto, DeltaDiscoveryResponseProto, LbEndpointProto } from '../../lib/xds/envoy-types';
import { ResourceStore } from '../../lib/xds/resource-store';
import { TYPE_EDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import { mulberry32 } from '../support/mulberry32';
import { V1, V2, sampleAssignment } from './sample-resources';
import { realEnvoy } from './real-envoy-protos';

const encode = (cla: ClusterLoadAssignmentProto): Buffer => xdsProtos().codecs[TYPE_EDS].encode(cla);
const fromBytes = (bytes: Buffer): readonly Endpoint[] => endpointsFromBytes(bytes, xdsProtos().assignment);
/** The one-shot path: decode the whole resource, check it, translate it. */
function viaFullDecode(bytes: Buffer): readonly Endpoint[] {
  const cla = xdsProtos().codecs[TYPE_EDS].decode(bytes);
  checkAssignment(cla, cla.cluster_name ?? '', true);
  return endpointsFromXds(cla);
}

function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

function lbEndpoint(i: number, extra: Partial<LbEndpointProto> = {}): LbEndpointProto {
  return { endpoint: { address: { socket_address: { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port_value: 9090 } } }, ...extra };
}

/** A 1,000-endpoint assignment over three localities, with labels, weights and health states. */
function bigAssignment(name = V1): ClusterLoadAssignmentProto {
  const group = (g: number, n: number) => ({
    locality: { region: 'r', zone: `z${g}` },
    load_balancing_weight: { value: g + 1 },
    priority: g,
    lb_endpoints: Array.from({ length: n }, (_, j) =>
      lbEndpoint(g * 1000 + j, {
        ...(j % 7 === 0 ? { health_status: j % 14 === 0 ? 'DRAINING' : 'HEALTHY' } : {}),
        ...(j % 5 === 0 ? { load_balancing_weight: { value: 1 + (j % 3) } } : {}),
        ...(j % 11 === 0 ? { metadata: { filter_metadata: { 'envoy.lb': { fields: { version: { stringValue: `v${j % 2}` } } } } } } : {}),
      }),
    ),
  });
  return { cluster_name: name, endpoints: [group(0, 400), group(1, 350), group(2, 250)] };
}

/** Field `field` (length-delimited) holding `bytes`. */
function field(fieldNumber: number, bytes: Uint8Array): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32((fieldNumber << 3) | 2).bytes(bytes).finish());
}

/** The bytes of the first LocalityLbEndpoints of an encoded assignment. */
function firstGroupBytes(cla: ClusterLoadAssignmentProto): Buffer {
  const r = protobuf.Reader.create(encode({ endpoints: cla.endpoints ?? [] }));
  r.uint32(); // endpoints tag
  return Buffer.from(r.bytes());
}

describe('ClusterLoadAssignment read in chunks of endpoints from its bytes', () => {
  it('gives the endpoints a whole decode and translation gives, for a 1,000-endpoint assignment, yielding every few endpoints', () => {
    const bytes = encode(bigAssignment());
    const expected = viaFullDecode(bytes);
    assert.equal(expected.length, 1000);
    const steps = endpointStepsFromBytes(bytes, xdsProtos().assignment);
    let yields = 0;
    let r = steps.next();
    while (r.done !== true) {
      yields++;
      r = steps.next();
    }
    assert.deepEqual(r.value, expected);
    assert.equal(yields, Math.floor(1000 / ENDPOINTS_PER_STEP));
    assert.equal(assignmentNameOf(bytes), V1);
  });

  it('gives endpoints with equal labels one frozen labels object, on both paths', () => {
    const bytes = encode(bigAssignment());
    for (const endpoints of [fromBytes(bytes), viaFullDecode(bytes)]) {
      const sets = new Set(endpoints.map((e) => e.labels));
      // v0, v1 and no labels.
      assert.equal(sets.size, 3, 'one object per distinct set of labels');
      assert.deepEqual(
        [...sets].map((l) => ({ ...l })).sort((a, b) => String(a.version).localeCompare(String(b.version))),
        [{}, { version: 'v0' }, { version: 'v1' }],
      );
      for (const l of sets) assert.ok(Object.isFrozen(l));
    }
  });

  it('reads the sample assignment and bytes the real Envoy protos encoded', () => {
    for (const bytes of [encode(sampleAssignment()), realEnvoy().codecs.ClusterLoadAssignment.encode(bigAssignment())]) {
      assert.deepEqual(fromBytes(bytes), viaFullDecode(bytes));
    }
  });

  it('checks a locality group before its endpoints even when its fields follow them on the wire', () => {
    const endpoints = firstGroupBytes({ endpoints: [{ lb_endpoints: [lbEndpoint(1), lbEndpoint(2, { endpoint: { address: { socket_address: { address: '10.0.0.2' } } } })] }] });
    const header = firstGroupBytes({ endpoints: [{ locality: { zone: 'z' }, load_balancing_weight: { value: 0 } }] });
    const bytes = Buffer.concat([field(1, Buffer.from(V1)), field(2, Buffer.concat([endpoints, header]))]);
    const got = outcome(() => fromBytes(bytes)) as { error?: string; message?: string };
    assert.equal(got.error, 'MeshError');
    assert.match(got.message ?? '', /endpoints\[0\]\.load_balancing_weight is 0/);
    assert.deepEqual(got, outcome(() => viaFullDecode(bytes)));
    const validHeader = firstGroupBytes({ endpoints: [{ locality: { zone: 'z' }, load_balancing_weight: { value: 2 } }] });
    const valid = Buffer.concat([field(1, Buffer.from(V1)), field(2, Buffer.concat([firstGroupBytes({ endpoints: [{ lb_endpoints: [lbEndpoint(1)] }] }), validHeader]))]);
    assert.deepEqual(fromBytes(valid), viaFullDecode(valid));
    assert.equal(fromBytes(valid)[0]?.locality?.zone, 'z', 'the locality that follows the endpoints still applies to them');
  });

  it('agrees with the whole path, endpoints or refusal, over 300 random assignments', () => {
    const rand = mulberry32(22);
    const flaws: ((cla: ClusterLoadAssignmentProto) => void)[] = [
      (c) => (c.cluster_name = ''),
      (c) => ((c.endpoints ?? [])[0]!.priority = 200),
      (c) => ((c.endpoints ?? [])[0]!.load_balancing_weight = { value: 0 }),
      (c) => (c.endpoints ?? [])[0]!.lb_endpoints!.push(lbEndpoint(9, { load_balancing_weight: { value: 0 } })),
      (c) => (c.endpoints ?? [])[0]!.lb_endpoints!.push({ endpoint: { address: { socket_address: { address: '10.9.9.9', port_value: 0 } } } }),
      (c) => (c.endpoints ?? [])[0]!.lb_endpoints!.push({ endpoint: {} }),
      (c) => (c.endpoints ?? [])[0]!.lb_endpoints!.push(lbEndpoint(8, { health_status: 42 as unknown as 'HEALTHY' })),
    ];
    let refused = 0;
    for (let n = 0; n < 300; n++) {
      const groups = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, g) => ({
        ...(rand() < 0.5 ? { locality: { region: 'r', zone: `z${g}` } } : {}),
        lb_endpoints: Array.from({ length: Math.floor(rand() * 300) }, (_, j) => lbEndpoint(j, rand() < 0.2 ? { health_status: 'UNHEALTHY' } : {})),
      }));
      const cla: ClusterLoadAssignmentProto = { cluster_name: V2, endpoints: groups };
      if (rand() < 0.3) flaws[Math.floor(rand() * flaws.length)]!(cla);
      const bytes = encode(cla);
      const expected = outcome(() => viaFullDecode(bytes));
      assert.deepEqual(outcome(() => fromBytes(bytes)), expected, `assignment ${n}`);
      if ((expected as { error?: string }).error !== undefined) refused++;
    }
    assert.ok(refused > 30 && refused < 150, `both outcomes exercised (${refused} of 300 refused)`);
  });

  it('throws an Error, never a crash or half an assignment, on truncated or garbage bytes', () => {
    const bytes = encode(bigAssignment());
    const rand = mulberry32(5);
    for (let n = 0; n < 200; n++) {
      const cut = bytes.subarray(0, Math.floor(rand() * bytes.length));
      const garbage = Buffer.from(bytes);
      for (let k = 0; k < 4; k++) garbage[Math.floor(rand() * garbage.length)] = Math.floor(rand() * 256);
      for (const b of [cut, garbage]) {
        let ours: { value: readonly Endpoint[] } | { error: unknown };
        try {
          ours = { value: fromBytes(b) };
        } catch (error) {
          ours = { error };
        }
        if ('value' in ours) {
          // Some damage still decodes (a changed address byte); then it must equal the whole path's result.
          assert.deepEqual(ours.value, viaFullDecode(b));
        } else {
          assert.ok(ours.error instanceof Error, 'an Error');
          if (!(ours.error instanceof MeshError)) assert.throws(() => viaFullDecode(b), 'the whole decode fails on the same bytes');
        }
      }
    }
  });

  it('refuses the whole response for one bad endpoint deep in one assignment, and keeps the last good endpoints', () => {
    const store = new ResourceStore<ClusterLoadAssignmentProto, readonly Endpoint[]>(() => 0, edsResourceType.decodeRaw);
    store.request([V1, V2]);
    const pack = (cla: ClusterLoadAssignmentProto) => ({ type_url: TYPE_EDS, value: encode(cla) });
    const ctx = { wanted: () => true, serverKnowsOf: () => true };
    const good = runNow(applyResponse(edsResourceType, store, { version_info: '1', type_url: TYPE_EDS, resources: [pack(bigAssignment(V1)), pack(bigAssignment(V2))] }, ctx));
    assert.deepEqual(good.errors, []);
    const before = store.get(V1)?.value;
    assert.equal(before?.length, 1000);
    assert.equal(store.get(V1)?.raw, undefined, 'only the bytes and the endpoints are kept');
    assert.deepEqual(store.rawOf(store.get(V1)!), xdsProtos().codecs[TYPE_EDS].decode(encode(bigAssignment(V1))), 'a dump decodes the bytes again');

    const changed = bigAssignment(V1);
    changed.endpoints![0]!.lb_endpoints![0] = lbEndpoint(77_777);
    const bad = bigAssignment(V2);
    bad.endpoints![2]!.lb_endpoints![200] = lbEndpoint(5, { load_balancing_weight: { value: 0 } });
    const refused = runNow(applyResponse(edsResourceType, store, { version_info: '2', type_url: TYPE_EDS, resources: [pack(changed), pack(bad)] }, ctx));
    assert.equal(refused.errors.length, 1);
    assert.match(refused.errors[0]!, /endpoints\[2\]\.lb_endpoints\[200\] \(10\.0\.0\.5\) has load_balancing_weight 0/);
    assert.equal(store.get(V1)?.value, before, 'the good assignment of a refused response is not taken either');
    assert.equal(store.get(V1)?.version, '1');
    assert.equal(store.get(V2)?.status, 'NACKED');
    assert.equal(store.get(V2)?.value?.length, 1000, 'the last good endpoints stay');
  });

  it('decodes a DeltaDiscoveryResponse off the wire as proto-loader on the real Envoy protos does, each resource its own bytes', () => {
    const response: DeltaDiscoveryResponseProto = {
      system_version_info: '7',
      type_url: TYPE_EDS,
      nonce: 'n1',
      removed_resources: ['gone'],
      resources: [
        { name: V1, version: 'a', resource: { type_url: TYPE_EDS, value: encode(sampleAssignment()) } },
        { name: V2, version: 'b', resource: { type_url: TYPE_EDS, value: encode(bigAssignment(V2)) } },
      ],
    };
    const wire = realEnvoy().codecs.DeltaDiscoveryResponse.encode(response);
    const method = (xdsProtos().ads as Record<string, MethodDefinition<object, object>>)['DeltaAggregatedResources'];
    assert.ok(method !== undefined);
    const got = method.responseDeserialize(wire) as DeltaDiscoveryResponseProto;
    const value = got.resources?.[1]?.resource?.value as Buffer;
    assert.deepEqual(got, realEnvoy().codecs.DeltaDiscoveryResponse.decode(wire));
    // A copy, not a view into the message: overwriting the message leaves it as it was. (Comparing the two
    // ArrayBuffers said nothing on Node 24, whose Buffer copies of a few KB come from a shared 64 KB pool.)
    const kept = Buffer.from(value);
    wire.fill(0);
    assert.deepEqual(value, kept, 'a kept resource does not hold the whole message');
    assert.deepEqual(value, Buffer.from(encode(bigAssignment(V2))));
  });
});
