// The admin port of a running mesh: each path answers while calls flow, CSDS
// read with a client built on the real Envoy protos (shipped in
// @grpc/grpc-js-xds), `meta-mesh dump --admin`, and the loopback rule.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Mesh, loadConfigFiles } from 'meta-mesh';
import { ControlPlaneServer } from 'meta-mesh/control-plane';
import { createThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler } from '../../examples/thrift-canary/servers';
import { PROTO_LOADER_OPTIONS } from '../../lib/xds/xds-protos';
import { Calculator, HOST, PORT, calculatorClient } from '../adapters/thrift/support';
import { writeMeshYaml } from '../support/mesh-yaml';
import { realEnvoy } from '../xds/real-envoy-protos';

const DEPS = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')) + '/deps';
const CLI = path.resolve(__dirname, '../../bin/meta-mesh.js');
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const quiet = () => undefined;

function get(address: string, pathname: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${address}${pathname}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

type RealCsdsClient = grpc.Client & {
  FetchClientStatus(req: object, cb: (err: grpc.ServiceError | null, res: RealResponse) => void): void;
  StreamClientStatus(): grpc.ClientDuplexStream<object, RealResponse>;
};
interface RealResponse {
  config: {
    node?: { id?: string };
    generic_xds_configs: { type_url: string; name: string; version_info?: string; client_status?: string; is_static_resource?: boolean; xds_config?: { type_url: string; value: Buffer } }[];
  }[];
}

/** A CSDS client from Envoy's own csds.proto, not meta-mesh's subset. */
function realCsdsClient(address: string): RealCsdsClient {
  const def = protoLoader.loadSync(['envoy/service/status/v3/csds.proto'], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d)),
  });
  const Ctor = grpc.makeGenericClientConstructor(def['envoy.service.status.v3.ClientStatusDiscoveryService'] as grpc.ServiceDefinition, 'csds');
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as RealCsdsClient;
}

describe('admin endpoint', function () {
  this.timeout(30_000);

  it('is off by default and refuses a non-loopback host unless allowRemote', async () => {
    const mesh = await Mesh.start({ logger: quiet });
    assert.equal(mesh.adminAddress, undefined);
    await mesh.close();
    await assert.rejects(Mesh.start({ admin: { port: 0, host: '0.0.0.0' }, logger: quiet }), (e: Error & { code?: string }) => e.code === 'CONFIG' && /allowRemote/.test(e.message));
    const local = await Mesh.start({ admin: { port: 0 }, logger: quiet });
    assert.match(local.adminAddress!, /^127\.0\.0\.1:\d+$/);
    await local.close();
  });

  it('answers /config_dump, /clusters, /ready and /stats while traffic runs, and CSDS from a client on the real protos', async () => {
    const serverMesh = await Mesh.start({ logger: quiet });
    const server = createThriftServer(serverMesh, Calculator, calculatorHandler('v1'));
    const port = await server.listen(0);
    const mesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port, version: 'v1' }] }), admin: { port: 0 }, logger: quiet });
    const admin = mesh.adminAddress!;
    const { client } = calculatorClient(mesh);
    let stop = false;
    let calls = 0;
    const traffic = (async () => {
      while (!stop) {
        await client.add(calls, 1);
        calls++;
      }
    })();
    try {
      while (calls < 20) await new Promise((r) => setImmediate(r));
      const dump = await get(admin, '/config_dump');
      assert.equal(dump.status, 200);
      assert.match(dump.type, /application\/json/);
      const parsed = JSON.parse(dump.body) as { version: string; config: unknown; upstreams: { key: string }[] };
      assert.equal(parsed.version, mesh.snapshot.version);
      assert.deepEqual(parsed.config, JSON.parse(JSON.stringify(mesh.dump().config)));
      assert.ok(parsed.upstreams.some((u) => u.key.endsWith(`127.0.0.1:${port}`)));

      const cluster = `outbound|${PORT}||${HOST}`;
      const clusters = await get(admin, '/clusters');
      assert.equal(clusters.status, 200);
      const lines = clusters.body.split('\n');
      assert.ok(lines.includes(`${cluster}::127.0.0.1:${port}::health_flags::healthy`), clusters.body);
      assert.ok(lines.includes(`${cluster}::127.0.0.1:${port}::cx_state::connected`), clusters.body);
      assert.ok(lines.some((l) => /::cx_active::[1-9]/.test(l) && l.startsWith(`${cluster}::127.0.0.1:${port}`)), clusters.body);
      assert.ok(lines.some((l) => l.startsWith(`${cluster}::127.0.0.1:${port}::rq_active::`)));
      assert.ok(lines.some((l) => l.startsWith(`${cluster}::default_priority::max_requests::`)));
      const clustersJson = JSON.parse((await get(admin, '/clusters?format=json')).body) as { cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } } }[] }[] };
      const status = clustersJson.cluster_statuses.find((c) => c.name === cluster)!;
      assert.equal(status.host_statuses[0]!.address.socket_address.port_value, port);

      const ready = await get(admin, '/ready');
      assert.deepEqual([ready.status, ready.body], [200, 'LIVE\n']);

      const stats = await get(admin, '/stats');
      assert.equal(stats.status, 200);
      assert.ok(stats.body.split('\n').includes(`cluster.${cluster}.membership_total: 1`), stats.body);
      assert.ok(stats.body.includes('server.live: 1'));
      const statsJson = JSON.parse((await get(admin, '/stats?format=json')).body) as { stats: { name: string; value: number }[] };
      assert.ok(statsJson.stats.some((s) => s.name === `cluster.${cluster}.upstream_rq_active`));

      assert.equal((await get(admin, '/nope')).status, 404);
      assert.equal((await get(admin, '/config_dump', 'POST')).status, 405);

      // CSDS on the same port: a static (YAML) mesh reports its resources as static and ACKED.
      const csds = realCsdsClient(admin);
      const response = await new Promise<RealResponse>((resolve, reject) => csds.FetchClientStatus({}, (err, res) => (err ? reject(err) : resolve(res))));
      const configs = response.config[0]!.generic_xds_configs;
      const cds = configs.find((g) => g.type_url === CDS && g.name === cluster)!;
      assert.equal(cds.client_status, 'ACKED');
      assert.equal(cds.is_static_resource, true);
      assert.equal(cds.version_info, mesh.snapshot.version);
      assert.equal(cds.xds_config!.type_url, CDS);
      assert.equal(realEnvoy().codecs.Cluster.decode(cds.xds_config!.value)['name'], cluster);
      assert.ok(configs.some((g) => g.type_url === RDS && g.name === `${HOST}_${PORT}`));
      // The stream answers each request; exclude_resource_contents leaves the resources out.
      const stream = csds.StreamClientStatus();
      const streamed = await new Promise<RealResponse>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
        stream.write({ exclude_resource_contents: true });
      });
      stream.end();
      assert.ok(streamed.config[0]!.generic_xds_configs.length > 0);
      assert.ok(streamed.config[0]!.generic_xds_configs.every((g) => g.xds_config === undefined || g.xds_config === null));
      csds.close();
      assert.ok(calls > 20, 'traffic kept flowing');
    } finally {
      stop = true;
      await traffic;
      await mesh.close();
      await serverMesh.close();
    }
  });

  it('reports an xDS-fed mesh\'s resources with versions and ACKs over CSDS, read by `meta-mesh dump --admin`', async () => {
    const snapshot = await loadConfigFiles([writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: 1, version: 'v1' }] })]);
    const cp = await ControlPlaneServer.start({ snapshot, port: 0, host: '127.0.0.1', logger: quiet });
    const mesh = await Mesh.start({ xds: { metaRds: `127.0.0.1:${cp.port}`, ads: `127.0.0.1:${cp.port}`, services: [`${HOST}:${PORT}`] }, admin: { port: 0 }, preconnect: false, logger: quiet });
    try {
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [CLI, 'dump', '--admin', mesh.adminAddress!], { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
      );
      const dumped = JSON.parse(out) as { config: { node: { id: string }; generic_xds_configs: { type_url: string; name: string; client_status: string; version_info: string; xds_config?: Record<string, unknown> }[] }[] };
      const configs = dumped.config[0]!.generic_xds_configs;
      const rds = configs.find((g) => g.type_url === RDS)!;
      assert.equal(rds.name, `${HOST}_${PORT}`);
      assert.equal(rds.client_status, 'ACKED');
      assert.ok(rds.version_info !== '');
      assert.equal(rds.xds_config!['@type'], RDS);
      assert.equal(rds.xds_config!['name'], `${HOST}_${PORT}`);
      assert.ok(configs.some((g) => g.type_url === CDS && g.client_status === 'ACKED'));
      assert.ok(dumped.config[0]!.node.id.length > 0);
    } finally {
      await mesh.close();
      await cp.close();
    }
  });
});
