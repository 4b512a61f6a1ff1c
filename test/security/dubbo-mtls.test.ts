// Dubbo over mutual TLS: an apache-dubbo-js client through a meta-mesh client
// with ISTIO_MUTUAL, a meta-mesh Dubbo provider under STRICT, and a
// DubboAuthorizationPolicy deciding by the caller's verified principal and namespace.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from 'meta-mesh';
import { createDubboServer, getCallMetadata } from 'meta-mesh/dubbo';
import { HOST, IFACE, demoClient, dubboMeshYaml } from '../adapters/dubbo/support';
import { createSpiffePki, type SpiffePki } from '../support/spiffe-pki';

function write(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-dubbo-mtls-')), 'mesh.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

describe('Dubbo over mutual TLS with authorization by principal', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  before(() => {
    pki = createSpiffePki();
  });
  after(() => pki.remove());

  it('serves sayHello to cluster.local/ns/front/sa/web only, and refuses a caller of another namespace', async () => {
    const serverMesh = await Mesh.start({
      identity: pki.workload('provider', 'shop', 'demo'),
      logger: () => undefined,
      config: write(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: dubbo.aeraki.io/v1alpha1
kind: DubboAuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/front/sa/web]}
    to:
    - operation: {interfaces: [${IFACE}], methods: [sayHello]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-dev, namespace: shop}
spec:
  action: DENY
  rules:
  - from:
    - source: {namespaces: [dev]}
`),
    });
    const seen: string[] = [];
    const server = createDubboServer(serverMesh, {
      services: { [IFACE]: { sayHello: (name: string) => (seen.push(getCallMetadata()?.get('source.principal') ?? ''), `hello ${name}`), add: (a: number, b: number) => a + b } },
    });
    const port = await server.listen(0);
    const tls = dubboMeshYaml({ v1: port }).replace(
      `spec:\n  host: ${HOST}\n`,
      `spec:\n  host: ${HOST}\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, subjectAltNames: [spiffe://cluster.local/ns/shop/sa/demo]}\n`,
    );
    const web = await Mesh.start({ config: write(tls), identity: pki.workload('web', 'front', 'web'), logger: () => undefined });
    const dev = await Mesh.start({ config: write(tls), identity: pki.workload('dev', 'dev', 'web'), logger: () => undefined });
    try {
      const fromWeb = demoClient(web).demo;
      const hello = await fromWeb.sayHello('ann');
      assert.equal(hello.err, null);
      assert.equal(hello.res, 'hello ann');
      assert.deepEqual(seen, ['cluster.local/ns/front/sa/web']);
      assert.match(String((await fromWeb.add(1, 2)).err?.message), /PERMISSION_DENIED/);
      const fromDev = demoClient(dev).demo;
      assert.match(String((await fromDev.sayHello('eve')).err?.message), /PERMISSION_DENIED.*AuthorizationPolicy shop\/no-dev denies it/);
      assert.equal(seen.length, 1);
    } finally {
      await web.close();
      await dev.close();
      await serverMesh.close();
    }
  });
});
