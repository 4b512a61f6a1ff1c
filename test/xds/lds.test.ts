// LDS as a sidecar receives it (nodeId 'istio'): the MetaProtocolProxy filter
// config Aeraki puts in the outbound listener of `<host>_<port>`, read from
// both shapes istiod can send (the binary message, or a TypedStruct of its
// JSON), applied to that route config, and NACKed as a whole when invalid.
// Wire compatibility: the Envoy/cncf parts are written with the REAL protos
// (@grpc/grpc-js-xds/deps); the MetaProtocolProxy, LocalRateLimit and
// RateLimit messages have no packaged protos, so they are written here field
// by field from the field numbers of aeraki-mesh/meta-protocol-proxy's api/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { Snapshot } from '../../lib/config/model';
import { ControlPlaneServer, TYPE_LDS, XdsConfigSource } from '../../lib/xds';
import { decodeAs } from '../../lib/xds/lds-protos';
import { ldsResourceType } from '../../lib/xds/lds-resource-type';
import { PROTO_LOADER_OPTIONS } from '../../lib/xds/xds-protos';
import { defined } from '../support/defined';

const DEPS = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')) + '/deps';
const FIXTURES = path.resolve(__dirname, '../../../test/xds/fixtures');
const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const RC = `${HOST}_9090`;
const MPP = 'type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy';
const LRL = 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit';
const GRL = 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit';

type Codec = { encode(o: object): Buffer; decode(b: Buffer): Record<string, unknown> };

function realCodecs(): Record<'Listener' | 'HeaderMatcher' | 'RateLimitServiceConfig' | 'TokenBucket' | 'UdpaTypedStruct' | 'XdsTypedStruct', Codec> {
  const def = protoLoader.loadSync(['real-listener-codec.proto'], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [FIXTURES, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d))],
  });
  const svc = def['meta_mesh.test.v1.RealListenerCodec'] as protoLoader.ServiceDefinition;
  const codec = (m: string): Codec => {
    const method = defined(svc[m], `method ${m}`);
    return { encode: (o) => method.requestSerialize(o), decode: (b) => method.requestDeserialize(b) as Record<string, unknown> };
  };
  return {
    Listener: codec('Listener'),
    HeaderMatcher: codec('HeaderMatcher'),
    RateLimitServiceConfig: codec('RateLimitServiceConfig'),
    TokenBucket: codec('TokenBucket'),
    UdpaTypedStruct: codec('UdpaTypedStruct'),
    XdsTypedStruct: codec('XdsTypedStruct'),
  };
}

const real = realCodecs();

/** Length-delimited field `n` holding `bytes`. */
const bytesField = (w: protobuf.Writer, n: number, bytes: Uint8Array) => w.uint32((n << 3) | 2).bytes(bytes);
const stringField = (w: protobuf.Writer, n: number, s: string) => w.uint32((n << 3) | 2).string(s);
const anyOf = (typeUrl: string, value: Uint8Array) => {
  const w = protobuf.Writer.create();
  stringField(w, 1, typeUrl);
  bytesField(w, 2, value);
  return w.finish();
};
const duration = (seconds: number) => protobuf.Writer.create().uint32((1 << 3) | 0).int64(seconds).finish();
const percent = (v: number) => protobuf.Writer.create().uint32((1 << 3) | 1).double(v).finish();

/** RouteMatch { repeated HeaderMatcher metadata = 1 } with an exact match, the matcher written by the real Envoy proto. */
function routeMatch(name: string, exact: string): Uint8Array {
  return bytesField(protobuf.Writer.create(), 1, real.HeaderMatcher.encode({ name, exact_match: exact })).finish();
}

/** The binary MetaProtocolProxy an outbound listener of RC carries, with both rate-limit filters, tracing and an access log. */
function binaryMetaProtocolProxy(fillIntervalSeconds = 60, inbound = false, withLocal = true): Uint8Array {
  // LocalRateLimit: stat_prefix 1, token_bucket 2, conditions 3 { match 1, token_bucket 2 }.
  const bucket = (max: number, perFill: number) => real.TokenBucket.encode({ max_tokens: max, tokens_per_fill: { value: perFill }, fill_interval: { seconds: fillIntervalSeconds, nanos: 0 } });
  const lrl = protobuf.Writer.create();
  stringField(lrl, 1, HOST);
  bytesField(lrl, 2, bucket(5, 5));
  const cond = protobuf.Writer.create();
  bytesField(cond, 1, routeMatch('method', 'sayHello'));
  bytesField(cond, 2, bucket(2, 2));
  bytesField(lrl, 3, cond.finish());
  // RateLimit: match 1, domain 2, timeout 3, failure_mode_deny 4, rate_limit_service 5, descriptors 6 { property 1, descriptor_key 2 }.
  const grl = protobuf.Writer.create();
  bytesField(grl, 1, routeMatch('method', 'sayHello'));
  stringField(grl, 2, 'production');
  bytesField(grl, 3, duration(1));
  grl.uint32((4 << 3) | 0).bool(true);
  bytesField(grl, 5, real.RateLimitServiceConfig.encode({ grpc_service: { envoy_grpc: { cluster_name: 'outbound|8081||rate-limit-server.meta-thrift.svc.cluster.local' } }, transport_api_version: 'V3' }));
  const desc = protobuf.Writer.create();
  stringField(desc, 1, 'method');
  stringField(desc, 2, 'method');
  bytesField(grl, 6, desc.finish());
  // MetaProtocolProxy: stat_prefix 1, application_protocol 2, rds 3 { route_config_name 2 }, codec 5 { name 1 },
  // meta_protocol_filters 6 { name 1, config 2 }, tracing 7 { client 3, random 4, overall 5 }, access_log 8 { name 1 }, protocol 12 { name 1, codec 2 }.
  const m = protobuf.Writer.create();
  stringField(m, 1, inbound ? 'inbound|9090||' : `outbound|9090||${HOST}`);
  stringField(m, 2, 'thrift');
  // Aeraki's inbound filter carries its route config inline (field 4, named inbound|<port>||); outbound uses RDS (field 3).
  if (inbound) bytesField(m, 4, stringField(protobuf.Writer.create(), 1, 'inbound|9090||').finish());
  else bytesField(m, 3, stringField(protobuf.Writer.create(), 2, RC).finish());
  bytesField(m, 5, stringField(protobuf.Writer.create(), 1, 'aeraki.meta_protocol.codec.thrift').finish());
  for (const [name, typeUrl, value] of [
    ...(withLocal ? ([['aeraki.meta_protocol.filters.local_ratelimit', LRL, lrl.finish()]] as const) : []),
    ['aeraki.meta_protocol.filters.ratelimit', GRL, grl.finish()],
    ['aeraki.meta_protocol.filters.router', 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.router.v1alpha.Router', new Uint8Array()],
  ] as const) {
    const f = protobuf.Writer.create();
    stringField(f, 1, name);
    bytesField(f, 2, anyOf(typeUrl, value));
    bytesField(m, 6, f.finish());
  }
  const tracing = protobuf.Writer.create();
  bytesField(tracing, 3, percent(100));
  bytesField(tracing, 4, percent(12.5));
  bytesField(tracing, 5, percent(100));
  bytesField(m, 7, tracing.finish());
  bytesField(m, 8, stringField(protobuf.Writer.create(), 1, 'envoy.access_loggers.file').finish());
  return m.finish();
}

/** The same config as istiod sends an EnvoyFilter patch it has no proto for: a udpa TypedStruct of the proto3 JSON. */
function typedStructMetaProtocolProxy(): Uint8Array {
  // google.protobuf.Value as proto-loader takes it (its bundled well-known types keep the JSON names).
  const s = (v: string) => ({ stringValue: v });
  const n = (v: number) => ({ numberValue: v });
  const st = (fields: Record<string, unknown>) => ({ structValue: { fields } });
  const ls = (values: unknown[]) => ({ listValue: { values } });
  const matcher = st({ metadata: ls([st({ name: s('method'), exactMatch: s('sayHello') })]) });
  const value = {
    fields: {
      statPrefix: s(`outbound|9090||${HOST}`),
      applicationProtocol: s('thrift'),
      rds: st({ configSource: st({ ads: st({}) }), routeConfigName: s(RC) }),
      codec: st({ name: s('aeraki.meta_protocol.codec.thrift') }),
      metaProtocolFilters: ls([
        st({
          name: s('aeraki.meta_protocol.filters.local_ratelimit'),
          config: st({
            '@type': s(LRL),
            statPrefix: s(HOST),
            tokenBucket: st({ maxTokens: n(5), tokensPerFill: n(5), fillInterval: s('60s') }),
            conditions: ls([st({ match: matcher, tokenBucket: st({ maxTokens: n(2), tokensPerFill: n(2), fillInterval: s('60s') }) })]),
          }),
        }),
        st({
          name: s('aeraki.meta_protocol.filters.ratelimit'),
          config: st({
            '@type': s(GRL),
            match: matcher,
            domain: s('production'),
            timeout: s('1s'),
            failureModeDeny: { boolValue: true },
            rateLimitService: st({ grpcService: st({ envoyGrpc: st({ clusterName: s('outbound|8081||rate-limit-server.meta-thrift.svc.cluster.local') }) }) }),
            descriptors: ls([st({ property: s('method'), descriptorKey: s('method') })]),
          }),
        }),
        st({ name: s('aeraki.meta_protocol.filters.router') }),
      ]),
      tracing: st({ clientSampling: st({ value: n(100) }), randomSampling: st({ value: n(12.5) }), overallSampling: st({ value: n(100) }) }),
      accessLog: ls([st({ name: s('envoy.access_loggers.file') })]),
    },
  };
  return real.UdpaTypedStruct.encode({ type_url: MPP, value });
}

/** An outbound listener as istiod builds it for the service VIP, with the MetaProtocolProxy filter. */
function listener(name: string, typedConfig: { type_url: string; value: Uint8Array }): Buffer {
  return real.Listener.encode({
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: 9090 } },
    filter_chains: [
      { filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', value: Buffer.alloc(0) } }] },
      { filters: [{ name: 'envoy.filters.network.meta_protocol_proxy', typed_config: typedConfig }] },
    ],
  });
}

const EXPECTED = {
  routeConfigName: RC,
  direction: 'outbound',
  statPrefix: `outbound|9090||${HOST}`,
  codec: 'aeraki.meta_protocol.codec.thrift',
  localRateLimit: {
    tokenBucket: { maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 60_000 },
    conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'sayHello' }], tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 60_000 } }],
  },
  globalRateLimit: {
    match: [{ name: 'method', kind: 'exact', value: 'sayHello' }],
    domain: 'production',
    requestTimeoutMs: 1000,
    denyOnFail: true,
    rateLimitService: 'outbound|8081||rate-limit-server.meta-thrift.svc.cluster.local',
    descriptors: [{ property: 'method', descriptorKey: 'method' }],
  },
  tracing: { client_sampling: 100, random_sampling: 12.5, overall_sampling: 100 },
  accessLogs: ['envoy.access_loggers.file'],
};

const settingsOf = (bytes: Buffer) => {
  const decoded = ldsResourceType.decode(bytes);
  return { name: decoded.name, value: ldsResourceType.validate(decoded, bytes).value.services };
};

describe('LDS: the MetaProtocolProxy filter config of the outbound listener', () => {
  it('reads the binary filter config written from the upstream field numbers, inside a listener written by the real Envoy protos', () => {
    const { name, value } = settingsOf(listener('0.0.0.0_9090', { type_url: MPP, value: binaryMetaProtocolProxy() }));
    assert.equal(name, '0.0.0.0_9090');
    assert.deepEqual(JSON.parse(JSON.stringify(value)), [EXPECTED]);
  });

  it('reads the same config from a udpa TypedStruct of its JSON, as istiod sends Aeraki’s EnvoyFilter patch', () => {
    const { value } = settingsOf(listener('0.0.0.0_9090', { type_url: 'type.googleapis.com/udpa.type.v1.TypedStruct', value: typedStructMetaProtocolProxy() }));
    assert.deepEqual(JSON.parse(JSON.stringify(value)), [EXPECTED]);
  });

  it('reads an xds.type.v3 TypedStruct too, and ignores listeners with no MetaProtocolProxy', () => {
    const ts = decodeAs<{ type_url: string; value: object }>('type.googleapis.com/udpa.type.v1.TypedStruct', typedStructMetaProtocolProxy());
    assert.equal(ts.type_url, MPP);
    const xdsTs = real.XdsTypedStruct.encode(real.UdpaTypedStruct.decode(Buffer.from(typedStructMetaProtocolProxy())));
    assert.deepEqual(JSON.parse(JSON.stringify(settingsOf(listener('l', { type_url: 'type.googleapis.com/xds.type.v3.TypedStruct', value: xdsTs })).value)), [EXPECTED]);
    const plain = real.Listener.encode({ name: 'virtualOutbound', filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }] });
    assert.deepEqual(settingsOf(plain).value, []);
  });

  it('reads Aeraki’s inbound filter (inline route config inbound|<port>||): the local limit’s stat_prefix names the host', () => {
    const inbound = JSON.parse(JSON.stringify(settingsOf(listener('virtualInbound', { type_url: MPP, value: binaryMetaProtocolProxy(60, true) })).value));
    assert.deepEqual(inbound, [{ ...EXPECTED, direction: 'inbound', statPrefix: 'inbound|9090||' }]);
    // With only a global limit, the filter applies to every route config of the port this process serves.
    const globalOnly = settingsOf(listener('virtualInbound', { type_url: MPP, value: binaryMetaProtocolProxy(60, true, false) })).value;
    assert.equal(globalOnly[0]?.routeConfigName, '*_9090');
    assert.equal(globalOnly[0]?.localRateLimit, undefined);
  });

  it('refuses a fill interval under 50 ms, naming the listener and filter', () => {
    assert.throws(
      () => settingsOf(listener('0.0.0.0_9090', { type_url: MPP, value: binaryMetaProtocolProxy(0) })),
      /listener '0\.0\.0\.0_9090' filter_chains\[1\]\.filters\[0\] \(route config .*_9090\) meta_protocol_filters\[0\] 'aeraki\.meta_protocol\.filters\.local_ratelimit' token_bucket fill_interval is 0ms; Envoy requires at least 50ms/,
    );
  });

  describe('through a control plane, with nodeId istio', () => {
    let cp: ControlPlaneServer;
    let source: XdsConfigSource;
    let seen: Snapshot[];
    let waiting: ((s: Snapshot) => void)[] = [];
    beforeEach(async () => {
      cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
      seen = [];
      const target = `127.0.0.1:${cp.port}`;
      waiting = [];
      source = await XdsConfigSource.start({ metaRds: target, ads: target, nodeId: 'istio', backoff: { initialMs: 20, maxMs: 200 } }, (s) => {
        seen.push(s);
        const w = waiting;
        waiting = [];
        for (const resolve of w) resolve(s);
      });
    });
    afterEach(async () => {
      source.close();
      await cp.close();
    });

    /** Resolves with the next snapshot the source hands out. */
    const next = () => new Promise<Snapshot>((resolve) => waiting.push(resolve));

    it('applies the listener’s rate limits and sampling to its route config, ACKs it, and NACKs a bad one changing nothing', async () => {
      assert.equal(source.snapshot!.routeConfigs.get(RC)?.localRateLimit, undefined);
      const updated = next();
      cp.setRawResources(TYPE_LDS, [{ name: '0.0.0.0_9090', type_url: TYPE_LDS, value: listener('0.0.0.0_9090', { type_url: MPP, value: binaryMetaProtocolProxy() }) }]);
      const snap = await updated;
      const rc = snap.routeConfigs.get(RC)!;
      assert.deepEqual(JSON.parse(JSON.stringify(rc.localRateLimit)), EXPECTED.localRateLimit);
      assert.deepEqual(JSON.parse(JSON.stringify(rc.globalRateLimit)), EXPECTED.globalRateLimit);
      assert.deepEqual(rc.tracing, EXPECTED.tracing);
      assert.ok(rc.routes.length > 0, 'the routes still come from MetaRDS');
      const lds = source.dump().resources.find((r) => r.typeUrl === TYPE_LDS)!;
      assert.equal(lds.clientStatus, 'ACKED');

      const nacked = new Promise<string>((resolve) => cp.once('nack', (_t: string, message: string) => resolve(message)));
      const before = seen.length;
      cp.setRawResources(TYPE_LDS, [{ name: '0.0.0.0_9090', type_url: TYPE_LDS, value: listener('0.0.0.0_9090', { type_url: MPP, value: binaryMetaProtocolProxy(0) }) }]);
      assert.match(await nacked, /fill_interval is 0ms/);
      assert.equal(seen.length, before, 'no snapshot for a refused listener');
      assert.deepEqual(JSON.parse(JSON.stringify(source.snapshot!.routeConfigs.get(RC)!.localRateLimit)), EXPECTED.localRateLimit);
    });

    it('keeps the listeners in the last-good cache: a restart with the control plane unreachable keeps the rate limits', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-lds-cache-'));
      const cacheFile = path.join(dir, 'last-good.json');
      const target = `127.0.0.1:${cp.port}`;
      const snaps: Snapshot[] = [];
      let cached: XdsConfigSource | undefined;
      let restarted: XdsConfigSource | undefined;
      try {
        cp.setRawResources(TYPE_LDS, [{ name: '0.0.0.0_9090', type_url: TYPE_LDS, value: listener('0.0.0.0_9090', { type_url: MPP, value: binaryMetaProtocolProxy() }) }]);
        let limited!: () => void;
        const withLimit = new Promise<void>((resolve) => (limited = resolve));
        cached = await XdsConfigSource.start({ metaRds: target, ads: target, nodeId: 'istio', cacheFile, backoff: { initialMs: 20, maxMs: 200 } }, (snap) => {
          snaps.push(snap);
          if (snap.routeConfigs.get(RC)?.localRateLimit !== undefined) limited();
        });
        await withLimit;
        await cached.flushCache();
        cached.close();
        source.close();
        await cp.close();
        const restartedSnaps: Snapshot[] = [];
        restarted = await XdsConfigSource.start(
          { metaRds: target, ads: target, nodeId: 'istio', cacheFile, waitForConfigMs: 3000, backoff: { initialMs: 20, maxMs: 200 } },
          (snap) => restartedSnaps.push(snap),
        );
        const rc = restartedSnaps[0]!.routeConfigs.get(RC)!;
        assert.deepEqual(JSON.parse(JSON.stringify(rc.localRateLimit)), EXPECTED.localRateLimit);
        assert.deepEqual(JSON.parse(JSON.stringify(rc.globalRateLimit)), EXPECTED.globalRateLimit);
        assert.deepEqual(rc.tracing, EXPECTED.tracing);
        const lds = restarted.dump().resources.filter((r) => r.typeUrl === TYPE_LDS);
        assert.equal(lds.length, 1);
        assert.equal(lds[0]!.fromCache, true);
      } finally {
        cached?.close();
        restarted?.close();
        cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('applies an inbound listener’s global limit to every route config of its port', async () => {
      const updated = next();
      cp.setRawResources(TYPE_LDS, [{ name: 'virtualInbound', type_url: TYPE_LDS, value: listener('virtualInbound', { type_url: MPP, value: binaryMetaProtocolProxy(60, true, false) }) }]);
      const rc = (await updated).routeConfigs.get(RC)!;
      assert.equal(rc.localRateLimit, undefined);
      assert.equal(rc.globalRateLimit?.domain, 'production');
    });
  });
});
