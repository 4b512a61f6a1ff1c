// Inbound security over xDS (gRPC A36 xDS-enabled servers, as istiod serves
// proxyless servers): a meta-mesh server asks for the inbound listener
// `xds.istio.io/grpc/lds/inbound/<ip>:<port>` over a real ADS stream, takes
// its mTLS mode from the filter chains' DownstreamTlsContext and its
// authorization from the RBAC filters, with real TLS between real Thrift
// workloads. The listeners are written with the REAL Envoy protos, shaped as
// istiod's grpcgen builds them. Whatever cannot be enforced is NACKed and the
// last good listener stays.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { Mesh, MeshError } from 'meta-mesh';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { ControlPlaneServer, TYPE_LDS } from '../../lib/xds';
import { ldsResourceType } from '../../lib/xds/lds-resource-type';
import { Metadata } from '../../lib/protocol/metadata';
import type { AuthzRequest } from '../../lib/security/authorizer';
import { RbacAuthorizer } from '../../lib/security/rbac-authorizer';
import { PROTO_LOADER_OPTIONS } from '../../lib/xds/xds-protos';
import { calculatorClient } from '../adapters/thrift/support';
import { calcClientYaml, identity, writeYaml } from '../support/mtls-workloads';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

const DEPS = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')) + '/deps';
const FIXTURES = path.resolve(__dirname, '../../../test/xds/fixtures');
const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const PREFIX = 'xds.istio.io/grpc/lds/inbound/';
const T = 'type.googleapis.com/';
const DOWNSTREAM_TLS = `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`;
const HCM = `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const HTTP_RBAC = `${T}envoy.extensions.filters.http.rbac.v3.RBAC`;
const NETWORK_RBAC = `${T}envoy.extensions.filters.network.rbac.v3.RBAC`;
const ROUTER = `${T}envoy.extensions.filters.http.router.v3.Router`;

type Codec = { encode(o: object): Buffer };
const real = (() => {
  const def = protoLoader.loadSync(['real-inbound-codec.proto'], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [FIXTURES, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d))],
  });
  const svc = def['meta_mesh.test.v1.RealInboundCodec'] as protoLoader.ServiceDefinition;
  const codec = (m: string): Codec => ({ encode: (o) => svc[m]!.requestSerialize(o) });
  return { Listener: codec('Listener'), DownstreamTlsContext: codec('DownstreamTlsContext'), Hcm: codec('HttpConnectionManager'), HttpRbac: codec('HttpRbac'), NetworkRbac: codec('NetworkRbac') };
})();

/** istiod's DownstreamTlsContext for STRICT: the `default` certificate provider for the certificate and ROOTCA, client certificate required. */
function downstreamTls(extra: object = {}): Buffer {
  return real.DownstreamTlsContext.encode({
    common_tls_context: {
      tls_certificate_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      combined_validation_context: {
        default_validation_context: {},
        validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
      },
    },
    require_client_certificate: { value: true },
    ...extra,
  });
}

type Rbac = { action: 'ALLOW' | 'DENY'; policies: Record<string, object> };

/** The inbound HCM istiod builds: inline route config with a non-forwarding action, RBAC DENY, RBAC ALLOW, router. */
function hcm(rbac: readonly Rbac[]): Buffer {
  return real.Hcm.encode({
    route_config: { name: 'inbound', virtual_hosts: [{ domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }] },
    http_filters: [
      ...rbac.map((r) => ({
        name: r.action === 'DENY' ? 'envoy.filters.http.rbac.DENY' : 'envoy.filters.http.rbac',
        typed_config: { type_url: HTTP_RBAC, value: real.HttpRbac.encode({ rules: r }) },
      })),
      { name: 'envoy.filters.http.router', typed_config: { type_url: ROUTER, value: Buffer.alloc(0) } },
    ],
  });
}

interface ListenerShape {
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  rbac?: readonly Rbac[];
  tls?: Buffer;
  filters?: object[];
}

function inboundListener(name: string, shape: ListenerShape): { name: string; type_url: string; value: Buffer } {
  const filters = shape.filters ?? [{ name: 'inbound-hcm', typed_config: { type_url: HCM, value: hcm(shape.rbac ?? []) } }];
  const socket = { name: 'envoy.transport_sockets.tls', typed_config: { type_url: DOWNSTREAM_TLS, value: shape.tls ?? downstreamTls() } };
  const chains =
    shape.mode === 'STRICT'
      ? [{ name: 'inbound-mtls', filters, transport_socket: socket }]
      : shape.mode === 'DISABLE'
        ? [{ name: 'inbound-plaintext', filters }]
        : [
            { name: 'inbound-mtls', filter_chain_match: { transport_protocol: 'tls' }, filters, transport_socket: socket },
            { name: 'inbound-plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters },
          ];
  const [host, port] = [name.slice(PREFIX.length, name.lastIndexOf(':')), Number(name.slice(name.lastIndexOf(':') + 1))];
  return { name, type_url: TYPE_LDS, value: real.Listener.encode({ name, address: { socket_address: { address: host, port_value: port } }, filter_chains: chains }) };
}

/** What istiod's authz model generates: `from.source.namespaces` → authenticated principal regex, `principals` → exact spiffe URI. */
const fromNamespace = (ns: string) => ({ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${ns}/.*` } } } }] } }] } });
const fromPrincipal = (p: string) => ({ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: `spiffe://${p}` } } }] } }] } });
const anyPermission = { and_rules: { rules: [{ any: true }] } };
const toMethods = (...methods: string[]) => ({ and_rules: { rules: [{ or_rules: { rules: methods.map((m) => ({ header: { name: ':method', string_match: { exact: m } } })) } }] } });
const fromIp = (prefix: string, len: number) => ({ and_ids: { ids: [{ or_ids: { ids: [{ direct_remote_ip: { address_prefix: prefix, prefix_len: { value: len } } }] } }] } });

const isDenied = (err: unknown) => err instanceof Error && /PERMISSION_DENIED|not authorized/.test(err.message);

describe('inbound security over xDS (gRPC A36 inbound listener, DownstreamTlsContext, RBAC)', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  let serverFiles: WorkloadFiles;
  let webFiles: WorkloadFiles;
  let adminFiles: WorkloadFiles;
  let cp: ControlPlaneServer;
  const open: Mesh[] = [];

  before(() => {
    pki = createSpiffePki();
    serverFiles = pki.workload('server', 'shop', 'calc');
    webFiles = pki.workload('web', 'front', 'web');
    adminFiles = pki.workload('admin', 'ops', 'admin');
  });
  beforeEach(async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false, logger: () => undefined });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
    await cp.close();
  });
  after(() => pki.remove());

  async function xdsServer() {
    const target = `127.0.0.1:${cp.port}`;
    const logs: string[] = [];
    const mesh = await Mesh.start({
      xds: { metaRds: target, ads: target, serverListenerResourceNameTemplate: `${PREFIX}%s`, backoff: { initialMs: 20, maxMs: 200 } },
      identity: identity(serverFiles),
      logger: (m) => logs.push(m),
    });
    open.push(mesh);
    const log = newServerLog();
    const s = await startCalculatorServer(mesh, 'v1', 0, log);
    const name = `${PREFIX}127.0.0.1:${s.port}`;
    /** Serves `shape` as the server's inbound listener and waits until the server's mesh took it. */
    const serve = async (shape: ListenerShape) => {
      const taken = once(mesh, 'config');
      cp.setRawResources(TYPE_LDS, [inboundListener(name, shape)]);
      await taken;
    };
    return { mesh, log, port: s.port, name, serve, logs };
  }

  async function client(port: number, files: WorkloadFiles | null) {
    const mesh = await Mesh.start({ config: writeYaml(calcClientYaml(port, files === null ? undefined : '{mode: ISTIO_MUTUAL}')), logger: () => undefined, defaultTimeoutMs: 5000, ...(files === null ? {} : { identity: identity(files) }) });
    open.push(mesh);
    return calculatorClient(mesh, { upstreamTransport: 'header' }).client;
  }

  it('asks for its inbound listener by name and refuses every connection until a valid one arrives (A36 not serving)', async () => {
    const s = await xdsServer();
    const web = await client(s.port, webFiles);
    await assert.rejects(web.add(1, 2), /CONNECT_FAILURE|UPSTREAM_RESET/);
    assert.equal(s.log.calls.add, undefined);
    assert.ok(s.logs.some((l) => l.includes(`no valid inbound listener ${s.name}`)), 'the refusal names the listener');
    await s.serve({ mode: 'STRICT' });
    assert.equal(await web.add(1, 2), 3);
  });

  it('STRICT from the DownstreamTlsContext: mTLS callers get in with their verified principal, plaintext is refused', async () => {
    const s = await xdsServer();
    await s.serve({ mode: 'STRICT' });
    const web = await client(s.port, webFiles);
    assert.equal(await web.add(2, 3), 5);
    assert.equal(await web.header('source.principal'), 'cluster.local/ns/front/sa/web');
    const plain = await client(s.port, null);
    await assert.rejects(plain.add(1, 1), /CONNECT_FAILURE|UPSTREAM_RESET/);
    assert.ok((s.mesh.dump().peerAuthentication as { refused: number }).refused >= 1);
  });

  it('PERMISSIVE from two chains matched on transport_protocol tls / raw_buffer; DISABLE from a plaintext chain', async () => {
    const s = await xdsServer();
    await s.serve({ mode: 'PERMISSIVE' });
    const plain = await client(s.port, null);
    assert.equal(await plain.add(1, 1), 2);
    assert.equal(await plain.header('source.principal'), '');
    const web = await client(s.port, webFiles);
    assert.equal(await web.header('source.principal'), 'cluster.local/ns/front/sa/web');
    await s.serve({ mode: 'DISABLE' });
    const plain2 = await client(s.port, null);
    assert.equal(await plain2.add(2, 2), 4);
  });

  it('enforces the RBAC filters istiod generates: ALLOW by namespace and principal, DENY by RPC method (:method), by source IP', async () => {
    const s = await xdsServer();
    await s.serve({
      mode: 'STRICT',
      rbac: [
        { action: 'DENY', policies: { 'shop-no-add-from-ops-0': { permissions: [toMethods('add')], principals: [fromPrincipal('cluster.local/ns/ops/sa/admin')] } } },
        {
          action: 'ALLOW',
          policies: {
            'shop-front-0': { permissions: [anyPermission], principals: [fromNamespace('front')] },
            'shop-admin-0': { permissions: [anyPermission], principals: [fromPrincipal('cluster.local/ns/ops/sa/admin')] },
          },
        },
      ],
    });
    const web = await client(s.port, webFiles);
    const admin = await client(s.port, adminFiles);
    const other = await client(s.port, pki.workload('other', 'billing', 'worker'));
    assert.equal(await web.add(1, 2), 3);
    assert.equal(await admin.header('source.principal'), 'cluster.local/ns/ops/sa/admin', 'admin is allowed other methods');
    await assert.rejects(admin.add(1, 2), (err) => isDenied(err) && /shop-no-add-from-ops-0/.test((err as Error).message));
    await assert.rejects(other.add(1, 2), (err) => isDenied(err) && /no policy matched/.test((err as Error).message));
    const denied = (s.mesh.dump().authorization as { denied: number }).denied;
    assert.equal(denied, 2);
    assert.equal(s.log.calls.add, 1, 'only the allowed add reached the handler');

    // A new version: DENY every caller from loopback by direct_remote_ip.
    await s.serve({ mode: 'STRICT', rbac: [{ action: 'DENY', policies: { 'no-loopback': { permissions: [anyPermission], principals: [fromIp('127.0.0.0', 8)] } } }] });
    await assert.rejects(web.add(1, 2), isDenied);
  });

  it('NACKs a listener it cannot enforce and keeps the last good one in force', async () => {
    const s = await xdsServer();
    const allowFront: Rbac = { action: 'ALLOW', policies: { front: { permissions: [anyPermission], principals: [fromNamespace('front')] } } };
    await s.serve({ mode: 'STRICT', rbac: [allowFront] });
    const web = await client(s.port, webFiles);
    const admin = await client(s.port, adminFiles);
    assert.equal(await web.add(1, 1), 2);
    await assert.rejects(admin.add(1, 1), isDenied);

    const cases: [ListenerShape, RegExp][] = [
      // A CEL condition cannot be evaluated: refused, not ignored (an ALLOW that ignored it would let more in).
      [{ mode: 'STRICT', rbac: [{ action: 'ALLOW', policies: { p: { permissions: [anyPermission], principals: [{ any: true }], condition: { id: 1 } } } }] }, /CEL condition/],
      // JWT claims (dynamic metadata) are not available to an RPC server.
      [{ mode: 'STRICT', rbac: [{ action: 'DENY', policies: { p: { permissions: [anyPermission], principals: [{ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.claims' }] } }] } } }] }, /dynamic metadata/],
      // A DENY on destination_ip (destination.ip) cannot be evaluated: refused, never skipped.
      [{ mode: 'STRICT', rbac: [{ action: 'DENY', policies: { p: { permissions: [{ destination_ip: { address_prefix: '10.0.0.1', prefix_len: { value: 32 } } }], principals: [{ any: true }] } } }] }, /destination_ip/],
      [{ mode: 'STRICT', rbac: [{ action: 'DENY', policies: { p: { permissions: [{ header: { name: ':authority', exact_match: 'x' } }], principals: [{ any: true }] } } }] }, /pseudo-header :authority/],
      // Server-only TLS and client SAN restrictions are not what meta-mesh serves.
      [{ mode: 'STRICT', tls: downstreamTls({ require_client_certificate: { value: false } }) }, /require_client_certificate/],
      [{ mode: 'STRICT', filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { type_url: `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, value: Buffer.alloc(0) } }] }, /does not run on an inbound listener/],
    ];
    for (const [shape, why] of cases) {
      const nacked = new Promise<string>((resolve) => cp.once('nack', (_t: string, message: string) => resolve(message)));
      cp.setRawResources(TYPE_LDS, [inboundListener(s.name, shape)]);
      assert.match(await nacked, why);
      assert.equal(await web.add(1, 1), 2, 'the last good listener stays in force');
      await assert.rejects(admin.add(1, 1), isDenied);
    }
  });

  it('maps an RPC call onto RBAC: url_path is / + the method (Dubbo /<interface>/<method>), headers are metadata, ports are the server port', () => {
    const name = `${PREFIX}0.0.0.0:20880`;
    const rules: Rbac = {
      action: 'ALLOW',
      policies: {
        'dubbo-say': { permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/org.example.DemoService/' } } }, { destination_port: 20880 }] } }], principals: [{ any: true }] },
        'tenant-header': { permissions: [{ header: { name: 'x-tenant', exact_match: 't1' } }], principals: [{ authenticated: {} }] },
      },
    };
    const bytes = inboundListener(name, { mode: 'STRICT', rbac: [rules] }).value;
    const model = ldsResourceType.validate(ldsResourceType.decode(bytes), bytes).value.inbound!;
    const rbac = new RbacAuthorizer(model.rbac, name);
    const call = (over: Partial<AuthzRequest>) => rbac.check({ principal: '', namespace: '', ip: '10.0.0.1', port: 20880, protocol: 'dubbo', method: 'org.example.DemoService/sayHello', metadata: new Metadata(), ...over }).allowed;
    assert.equal(call({}), true);
    assert.equal(call({ port: 20881 }), false, 'destination_port');
    assert.equal(call({ method: 'org.example.Other/sayHello' }), false, 'url_path');
    assert.equal(call({ method: 'x', metadata: new Metadata({ 'x-tenant': 't1' }) }), false, 'authenticated needs a verified peer');
    assert.equal(call({ method: 'x', principal: 'cluster.local/ns/a/sa/b', metadata: new Metadata({ 'x-tenant': 't1' }) }), true, 'a metadata key read as a header');
  });

  it('the network RBAC filter is read and enforced too: a DENY with an unset prefix_len covers every address of its family (Envoy: 0); an SNI chain match is refused', () => {
    const name = `${PREFIX}0.0.0.0:9090`;
    const rules = { action: 'DENY', policies: { all: { permissions: [anyPermission], principals: [{ direct_remote_ip: { address_prefix: '0.0.0.0' } }] } } };
    const bytes = inboundListener(name, { mode: 'DISABLE', filters: [{ name: 'envoy.filters.network.rbac', typed_config: { type_url: NETWORK_RBAC, value: real.NetworkRbac.encode({ rules, stat_prefix: 'x' }) } }] }).value;
    const value = ldsResourceType.validate(ldsResourceType.decode(bytes), bytes).value;
    assert.equal(value.inbound?.mode, 'DISABLE');
    assert.deepEqual(JSON.parse(JSON.stringify(value.inbound?.rbac)), [
      { filter: 'envoy.filters.network.rbac', action: 'DENY', policies: [{ name: 'all', permissions: [{ kind: 'and', of: [{ kind: 'any' }] }], principals: [{ kind: 'sourceIp', cidr: '0.0.0.0/0' }] }] },
    ]);
    const check = (ip: string) => new RbacAuthorizer(value.inbound!.rbac, name).check({ principal: '', namespace: '', ip, port: 9090, protocol: 'thrift', method: 'add', metadata: new Metadata() });
    assert.equal(check('10.1.2.3').allowed, false);
    assert.equal(check('::1').allowed, true, 'an IPv4 range does not cover IPv6 peers');
    // A chain chosen by SNI cannot be honoured: refused rather than served to every connection.
    const bySni = real.Listener.encode({ name, filter_chains: [{ filter_chain_match: { transport_protocol: 'tls', server_names: ['a'] }, filters: [] }] });
    assert.throws(() => ldsResourceType.validate(ldsResourceType.decode(bySni), bySni), (err: unknown) => err instanceof MeshError && /server_names/.test(err.message));
  });
});
