// Issue 17 item 2: the connection model. Non-multiplexed (Thrift's default):
// one call in flight per pooled connection, capped by maxConnections, queued
// up to http1MaxPendingRequests, then OVERFLOW; idle connections close after
// idleTimeout. Multiplexed (Dubbo's default, or per DestinationRule): calls
// share sockets. Proven against Python's TThreadedServer, which serves one
// call at a time per connection.
import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh, MeshError } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { oneEndpointYaml } from '../support/mesh-yaml';
import { startPythonServer, type PythonServer } from '../support/python-server';
import { startQuietMesh } from '../support/quiet-mesh';

const HOST = 'py.calc.svc';

/** A mesh with the Python server as the one endpoint of HOST; `connectionPool` is a YAML flow mapping. */
async function meshFor(port: number, connectionPool?: string): Promise<Mesh> {
  return (await startQuietMesh(oneEndpointYaml(HOST, port, connectionPool === undefined ? undefined : `{ connectionPool: ${connectionPool} }`))).mesh;
}

function upstreams(mesh: Mesh): { key: string; connections: number; idleClosed: number }[] {
  return mesh.dump().upstreams as { key: string; connections: number; idleClosed: number }[];
}

/** Runs `n` concurrent sleep(ms) calls; resolves with the wall time and each outcome. */
async function concurrentSleeps(client: { sleep(ms: number): Promise<number> }, n: number, ms: number) {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: n }, () => client.sleep(ms)));
  return { elapsed: performance.now() - started, results };
}

describe('Connection model against a one-call-per-connection server (Python TThreadedServer)', function () {
  this.timeout(30_000);
  let py: PythonServer;
  let mesh: Mesh | undefined;
  before(async () => {
    py = await startPythonServer('framed', 'binary', 'py');
  });
  after(() => py.stop());
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  const client = (m: Mesh) => thrift.createClient(Calculator, createThriftConnection(m, HOST, 9090, { transport: 'framed' }));

  it('runs 5 concurrent 200 ms calls in parallel, one pooled connection each, reused afterwards', async () => {
    mesh = await meshFor(py.port);
    const calc = client(mesh);
    const { elapsed, results } = await concurrentSleeps(calc, 5, 200);
    assert.ok(results.every((r) => r.status === 'fulfilled'));
    // Serially they take 1,000 ms; in parallel about 200 ms. Generous bound: well under the serial time.
    assert.ok(elapsed < 700, `5 × 200 ms calls took ${elapsed.toFixed(0)} ms: they ran one after another`);
    assert.equal(upstreams(mesh)[0]!.connections, 5);
    // The connections are pooled: the next wave reuses them.
    await concurrentSleeps(calc, 5, 1);
    assert.equal(upstreams(mesh)[0]!.connections, 5);
  });

  it('caps connections at maxConnections and queues the rest, so they run in waves', async () => {
    mesh = await meshFor(py.port, '{ tcp: { maxConnections: 2 } }');
    const { elapsed, results } = await concurrentSleeps(client(mesh), 4, 150);
    assert.ok(results.every((r) => r.status === 'fulfilled'));
    assert.ok(elapsed >= 290, `4 calls over 2 connections finished in ${elapsed.toFixed(0)} ms: the cap was not kept`);
    assert.equal(upstreams(mesh)[0]!.connections, 2);
  });

  it('answers calls beyond http1MaxPendingRequests with OVERFLOW at once', async () => {
    mesh = await meshFor(py.port, '{ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }');
    const { results } = await concurrentSleeps(client(mesh), 4, 100);
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const overflow = results.filter((r) => r.status === 'rejected' && /OVERFLOW/.test(String((r.reason as Error).message))).length;
    // The first call takes the one connection (queued while it connects), the second waits; the others overflow.
    assert.equal(ok + overflow, 4);
    assert.ok(ok >= 1 && ok <= 2, `${ok} calls went through`);
    assert.ok(overflow >= 2, `${overflow} calls overflowed`);
  });

  it('closes pooled connections idle for longer than idleTimeout', async () => {
    mesh = await meshFor(py.port, '{ http: { idleTimeout: 100ms } }');
    const calc = client(mesh);
    await concurrentSleeps(calc, 3, 1);
    assert.equal(upstreams(mesh)[0]!.connections, 3);
    const gone = await new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        if (upstreams(mesh!)[0]!.connections === 0) {
          clearInterval(poll);
          resolve(true);
        }
      }, 20);
    });
    assert.equal(gone, true);
    assert.equal(upstreams(mesh)[0]!.idleClosed, 3);
    // A later call opens a new connection and succeeds.
    assert.equal(await calc.add(1, 2), 3);
  });

  it('multiplexing: true in the DestinationRule shares one socket, so this server answers one call after another', async () => {
    mesh = await meshFor(py.port, '{ multiplexing: true }');
    const { elapsed, results } = await concurrentSleeps(client(mesh), 3, 150);
    assert.ok(results.every((r) => r.status === 'fulfilled'));
    assert.ok(elapsed >= 440, `3 × 150 ms on one socket took ${elapsed.toFixed(0)} ms`);
    assert.equal(upstreams(mesh)[0]!.connections, 1);
    assert.match(upstreams(mesh)[0]!.key, /\/mux\|/);
  });

  it('a queued call leaves the queue when its deadline passes', async () => {
    mesh = await meshFor(py.port, '{ tcp: { maxConnections: 1 } }');
    // The busy call outlives the queued call's deadline by far, so the queued
    // call can only fail in the queue, however late the timers run on a busy CPU.
    const busy = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090, { transport: 'framed', timeoutMs: 5000 }));
    const queued = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090, { transport: 'framed', timeoutMs: 100 }));
    const busyCall = busy.sleep(1000);
    const [queuedResult] = await Promise.allSettled([queued.sleep(1)]);
    assert.equal(queuedResult.status, 'rejected');
    assert.match(String(((queuedResult as PromiseRejectedResult).reason as MeshError).message), /TIMEOUT.*no connection .* became free/);
    assert.equal(await busyCall, 1000);
  });
});
