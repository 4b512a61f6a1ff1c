// Authorization policies enforced on real calls: a Thrift server and a Dubbo
// provider behind meta-mesh's inbound chain, with clients through a client
// mesh. A denied call is answered in the protocol's own error with
// PERMISSION_DENIED and the handler never runs.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createDubboServer } from 'meta-mesh/dubbo';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { HOST, PORT, calculatorClient } from '../adapters/thrift/support';
import { writeMeshYaml } from '../support/mesh-yaml';
import { IFACE, clientMesh as dubboClientMesh, demoClient } from '../adapters/dubbo/support';

function policyFile(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-authz-')), 'policies.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

function policy(name: string, spec: string, kind = 'AuthorizationPolicy', api = 'security.istio.io/v1'): string {
  return `---\napiVersion: ${api}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: default}\nspec:\n${spec}\n`;
}

async function thriftPair(policies: string, routes?: string) {
  const logged: string[] = [];
  const serverMesh = await Mesh.start({ config: policyFile(policies), logger: (m) => logged.push(m) });
  const log = newServerLog();
  const server = await startCalculatorServer(serverMesh, 'v1', 0, log);
  const clientMesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: server.port, version: 'v1' }], routes }), logger: () => undefined });
  return { serverMesh, clientMesh, log, logged, close: async () => (await clientMesh.close(), await serverMesh.close()) };
}

describe('authorization on Thrift calls', function () {
  this.timeout(30_000);

  it('denies by method (DENY) and by missing principal (ALLOW), allows by IP block; the handler never runs for a denied call', async () => {
    const pair = await thriftPair(
      policy('deny-add', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["add"]') +
        policy(
          'allow',
          '  action: ALLOW\n  rules:\n  - from:\n    - source:\n        ipBlocks: ["127.0.0.0/8"]\n    to:\n    - operation:\n        methods: ["version", "add", "header"]\n  - from:\n    - source:\n        principals: ["cluster.local/ns/admin/sa/root"]',
        ),
    );
    try {
      const { client } = calculatorClient(pair.clientMesh);
      assert.equal(await client.version(), 'v1');
      await assert.rejects(client.add(1, 2), (err: Error) => err instanceof thrift.Thrift.TApplicationException && /PERMISSION_DENIED.*AuthorizationPolicy default\/deny-add denies it/.test(err.message));
      await assert.rejects(client.subtract(5, 1), /PERMISSION_DENIED.*no ALLOW policy matched it/);
      assert.equal(pair.log.calls.add, undefined);
      assert.equal(pair.log.calls.subtract, undefined);
      assert.deepEqual(pair.serverMesh.dump().authorization, { allowed: 1, denied: 2, audited: 0 });
      assert.ok(pair.logged.some((l) => /call add on port \d+ from 127\.0\.0\.1 \(no verified identity\) is not authorized/.test(l)), pair.logged.join('\n'));
    } finally {
      await pair.close();
    }
  });

  it('denies a caller outside the allowed IP blocks', async () => {
    const pair = await thriftPair(policy('allow-pods', '  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8"]'));
    try {
      const { client } = calculatorClient(pair.clientMesh);
      await assert.rejects(client.version(), /PERMISSION_DENIED/);
      assert.equal(pair.log.calls.version, undefined);
    } finally {
      await pair.close();
    }
  });

  it('gives nothing to a peer that forges a principal header: it is stripped, and policies do not see it', async () => {
    const forged = `    - route:\n        - destination: {host: ${HOST}}\n      requestMutation:\n        - key: source.principal\n          value: cluster.local/ns/admin/sa/root\n        - key: Source.Namespace\n          value: admin`;
    const pair = await thriftPair(
      policy('allow', '  rules:\n  - to:\n    - operation:\n        methods: ["header"]\n  - from:\n    - source:\n        principals: ["cluster.local/ns/admin/sa/root"]\n  - when:\n    - key: request.headers[source.namespace]\n      values: ["admin"]'),
      forged,
    );
    try {
      const { client } = calculatorClient(pair.clientMesh, { upstreamTransport: 'header' });
      // The header reached the server (THeader) but the call's metadata does not hold the forged values.
      assert.equal(await client.header('source.principal'), '');
      assert.equal(await client.header('source.namespace'), '');
      await assert.rejects(client.version(), /PERMISSION_DENIED/);
      assert.equal(pair.log.calls.version, undefined);
    } finally {
      await pair.close();
    }
  });
});

describe('authorization on Dubbo calls', function () {
  this.timeout(30_000);

  it('applies a DubboAuthorizationPolicy by interface and method, and an Istio DENY by IP, in Dubbo errors', async () => {
    const serverMesh = await Mesh.start({
      config: policyFile(
        policy('dubbo-allow', '  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        interfaces: ["org.example.*"]\n        methods: ["sayHello", "nothing"]', 'DubboAuthorizationPolicy', 'dubbo.aeraki.io/v1alpha1') +
          policy('deny-nothing', '  action: DENY\n  rules:\n  - from:\n    - source:\n        ipBlocks: ["127.0.0.1"]\n    to:\n    - operation:\n        methods: ["org.example.DemoService/nothing"]'),
      ),
      logger: () => undefined,
    });
    const calls: string[] = [];
    const server = createDubboServer(serverMesh, {
      services: {
        [IFACE]: {
          sayHello: (name: string) => (calls.push('sayHello'), `hello ${name}`),
          add: (a: number, b: number) => (calls.push('add'), a + b),
          nothing: () => (calls.push('nothing'), null),
        },
      },
    });
    const port = await server.listen(0);
    const mesh = await dubboClientMesh({ v1: port });
    const { demo } = demoClient(mesh);
    try {
      const hello = await demo.sayHello('ann');
      assert.equal(hello.err, null);
      assert.equal(hello.res, 'hello ann');
      const add = await demo.add(1, 2);
      assert.match(String(add.err?.message), /PERMISSION_DENIED.*no ALLOW policy matched it/);
      const nothing = await demo.nothing();
      assert.match(String(nothing.err?.message), /PERMISSION_DENIED.*AuthorizationPolicy default\/deny-nothing denies it/);
      assert.deepEqual(calls, ['sayHello']);
    } finally {
      await mesh.close();
      await serverMesh.close();
    }
  });
});
