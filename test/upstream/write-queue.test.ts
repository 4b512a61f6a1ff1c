// Issue 16 item 4: an upstream that stops reading. The connection's write
// queue is bounded (calls past it fail at once with OVERFLOW), and a call
// whose bytes could not even leave before its deadline resets the connection
// (UPSTREAM_RESET, which outlier detection counts) instead of leaving
// megabytes queued for a peer that will never answer.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { oneEndpointYaml } from '../support/mesh-yaml';
import { startQuietMesh } from '../support/quiet-mesh';

function yaml(port: number): string {
  return oneEndpointYaml(
    'stuck.svc',
    port,
    '{ connectionPool: { multiplexing: true }, outlierDetection: { consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 } }',
  );
}

describe('Upstream that stops reading', function () {
  this.timeout(30_000);
  let server: net.Server;
  const sockets: net.Socket[] = [];
  let mesh: Mesh;
  before(async () => {
    // Accepts and never reads a byte.
    server = net.createServer({ pauseOnConnect: true }, (s) => {
      s.on('error', () => undefined);
      sockets.push(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  afterEach(() => mesh.close());

  it('fails calls past the write queue bound with OVERFLOW and resets the stuck connection', async () => {
    mesh = (await startQuietMesh(yaml((server.address() as net.AddressInfo).port))).mesh;
    const conn = createThriftConnection(mesh, 'stuck.svc', 9090, { timeoutMs: 400 });
    conn.on('error', () => undefined);
    const calc = thrift.createClient(Calculator, conn);
    const big = 'x'.repeat(256 * 1024);
    // The connection is up once a first call has been written (it times out: nothing is ever answered).
    await assert.rejects(calc.add(1, 2), /TIMEOUT/);
    // 60 calls of 256 KiB: 15 MiB for a peer that reads nothing, over the same upstream connection. Their
    // deadline leaves room for a busy CPU to serialize and route all 60 before any of it passes: a call
    // whose deadline passed before it was even written would (rightly) fail with TIMEOUT, not what is tested here.
    const flood = createThriftConnection(mesh, 'stuck.svc', 9090, { timeoutMs: 3000 });
    flood.on('error', () => undefined);
    const floodCalc = thrift.createClient(Calculator, flood);
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => floodCalc.echo(big)));
    const codes = results.map((r) => (r.status === 'rejected' ? (/\[meta-mesh (\w+)\]/.exec(String((r.reason as Error).message))?.[1] ?? 'other') : 'ok'));
    const count = (code: string) => codes.filter((c) => c === code).length;
    assert.ok(count('OVERFLOW') > 0, `no call was refused: ${JSON.stringify(codes)}`);
    assert.ok(count('UPSTREAM_RESET') > 0, `the stuck connection was not reset: ${JSON.stringify(codes)}`);
    assert.equal(count('TIMEOUT'), 0, 'calls whose bytes never left must not just time out and stay queued');
    assert.equal(count('ok'), 0);
    // The reset counts as a gateway failure: the only endpoint is ejected.
    await assert.rejects(calc.add(1, 2), /NO_HEALTHY_UPSTREAM/);
  });
});
