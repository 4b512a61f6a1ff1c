// ALLOW_ANY passthrough keeps Thrift wire formats apart: a framed client and
// a THeader client of the same undeclared host:port get their own upstream
// connections, as a Thrift server fixes a connection's format on its first
// message. Failed oneway calls, which have no caller to tell, reach the logger.
import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../../gen/calculator/js/Calculator';
import { newServerLog, startCalculatorServer } from '../../../examples/thrift-canary/servers';

describe('Thrift passthrough (ALLOW_ANY)', function () {
  this.timeout(20_000);

  it('sends framed and THeader clients of one host:port over separate connections', async () => {
    const serverMesh = await Mesh.start({ logger: () => undefined });
    const mesh = await Mesh.start({ outboundTrafficPolicy: 'ALLOW_ANY', logger: () => undefined });
    try {
      const server = await startCalculatorServer(serverMesh, 'v1', 0, newServerLog());
      const framed = thrift.createClient(Calculator, createThriftConnection(mesh, '127.0.0.1', server.port, { transport: 'framed' }));
      const header = thrift.createClient(Calculator, createThriftConnection(mesh, '127.0.0.1', server.port, { transport: 'framed', upstreamTransport: 'header' }));
      assert.equal(await framed.add(1, 2), 3);
      assert.equal(await header.add(3, 4), 7);
      assert.equal(await framed.add(5, 6), 11);
      const upstreams = (mesh.dump() as { upstreams: { key: string }[] }).upstreams.map((u) => u.key);
      assert.equal(upstreams.length, 2, `one upstream per wire format: ${upstreams.join(', ')}`);
    } finally {
      await mesh.close();
      await serverMesh.close();
    }
  });

  it("sends a failed oneway call's error to the mesh's logger when no one listens for it", async () => {
    const logged: string[] = [];
    let heard!: () => void;
    const heardIt = new Promise<void>((r) => (heard = r));
    const mesh = await Mesh.start({
      logger: (m) => {
        logged.push(m);
        if (/NO_ROUTE/.test(m)) heard();
      },
    });
    try {
      const client = thrift.createClient(Calculator, createThriftConnection(mesh, 'nowhere.svc', 9090));
      void client.record('lost');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([heardIt, new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error('nothing logged')), 5000)))]);
      clearTimeout(timer);
      assert.match(logged.join('\n'), /thrift connection to nowhere\.svc:9090: \[NO_ROUTE\] no ServiceEntry declares nowhere\.svc/);
    } finally {
      await mesh.close();
    }
  });
});
