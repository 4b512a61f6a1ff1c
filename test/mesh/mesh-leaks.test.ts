// Nothing the mesh started outlives what it belongs to: rate limiters of a
// service whose limits were removed are dropped (their RLS channels closed), a
// server closed on its own leaves the mesh's close list, and after
// mesh.close() the process holds the same handles as before the mesh.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as thrift from 'thrift';
import { Mesh, type Snapshot } from 'meta-mesh';
import { InboundServer } from 'meta-mesh/experimental';
import { createThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { calculatorHandler } from '../../examples/thrift-canary/servers';
import { echoCodecFactory } from '../support/echo-protocol';
import { TestRlsServer } from '../ratelimit/test-rls-server';

const HOST = 'calc.leaks.svc';

function yaml(rlsPort: number, limited: boolean): string {
  const limit = `  globalRateLimit:
    domain: calc
    rateLimitService: outbound|8081||rls.leaks.svc
    requestTimeout: 2s
    descriptors:
      - property: method
        descriptorKey: method
`;
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: calc}
spec:
  hosts: [${HOST}]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-thrift: 19999}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: rls}
spec:
  hosts: [rls.leaks.svc]
  ports: [{number: 8081, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${rlsPort}}}]
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: calc}
spec:
  hosts: [${HOST}]
${limited ? limit : ''}  routes:
    - name: all
      route: [{destination: {host: ${HOST}}}]
`;
}

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Resolves once `done()` holds, checking after each turn of the event loop; rejects after `ms`. */
async function eventually(done: () => boolean, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  while (!done()) {
    if (performance.now() > until) throw new Error(what);
    await new Promise((r) => setImmediate(r));
  }
}

function nextConfig(mesh: Mesh): Promise<Snapshot> {
  return new Promise((resolve) => mesh.once('config', resolve));
}

/** A plain thrift client of the server (not through the mesh), kept open so its socket does not move the counts. */
function directClient(port: number): { add: (a: number, b: number) => Promise<number>; end: () => void } {
  const connection = thrift.createConnection('127.0.0.1', port, {});
  connection.on('error', () => undefined);
  const client = thrift.createClient(Calculator, connection);
  return { add: (a, b) => client.add(a, b), end: () => connection.end() };
}

describe('mesh leaks', function () {
  this.timeout(30_000);

  it("closes a service's RLS channel when its MetaRouter drops the globalRateLimit, and leaves no handle after close", async () => {
    await new Promise((r) => setImmediate(r));
    const baseline = process.getActiveResourcesInfo().sort();
    const rls = await TestRlsServer.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-leaks-'));
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, yaml(rls.port, true));
    const mesh = await Mesh.start({ config: file, preconnect: false, logger: () => undefined });
    const after: (() => void)[] = [];
    try {
      const server = createThriftServer(mesh, Calculator, calculatorHandler('v1'), { service: { host: HOST, port: 9090 } });
      const client = directClient(await server.listen(0));
      after.push(client.end);
      assert.equal(await client.add(1, 2), 3);
      assert.equal(rls.received.length, 1, 'the call was not checked with the rate limit service');
      // Its channel is open now. grpc-js unrefs an idle client socket, so the server's side of it is what counts.
      const withChannel = sockets();
      const reloaded = nextConfig(mesh);
      fs.writeFileSync(file, yaml(rls.port, false));
      await reloaded;
      await eventually(() => sockets() <= withChannel - 1, 5000, `the RLS channel stayed open: ${sockets()} sockets, ${withChannel} with it`);
      assert.equal(await client.add(1, 2), 3);
      assert.equal(rls.received.length, 1, 'a limit that was removed was still checked');
    } finally {
      for (const end of after) end();
      await mesh.close();
      await rls.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await eventually(
      () => JSON.stringify(process.getActiveResourcesInfo().sort()) === JSON.stringify(baseline),
      5000,
      `handles left after close: ${process.getActiveResourcesInfo().sort().join(',')} (before: ${baseline.join(',')})`,
    );
  });

  it('forgets a server that was closed on its own (the mesh keeps no reference to it)', async () => {
    const mesh = await Mesh.start({ logger: () => undefined });
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const ref = await (async () => {
        const server = new InboundServer(mesh, { codecFactory: echoCodecFactory, terminal: async () => undefined });
        await server.listen(0);
        await server.close();
        return new WeakRef(server);
      })();
      await new Promise((r) => setImmediate(r));
      gc();
      assert.equal(ref.deref(), undefined, 'the mesh still holds the closed server');
    } finally {
      await mesh.close();
    }
  });
});
