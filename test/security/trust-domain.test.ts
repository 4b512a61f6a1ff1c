// The mesh's trust domain is not assumed to be cluster.local: it is the
// workload certificate's (or the Mesh option trustDomain), ISTIO_MUTUAL
// expects `spiffe://<trust domain>/ns/<ns>/sa/<sa>` of a ServiceEntry's
// endpoints, and authorization principals written with `cluster.local` stand
// for it, as Istio reads them. Real TLS, openssl certificates in trust domain
// `corp.example`.
import { strict as assert } from 'node:assert';
import { Mesh, MeshError } from 'meta-mesh';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { calculatorClient } from '../adapters/thrift/support';
import { calcClientYaml, identity, writeYaml } from '../support/mtls-workloads';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

const TD = 'corp.example';

function serverPolicies(principal: string): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  rules:
  - from:
    - source:
        principals: [${principal}]
`;
}

describe('trust domain from the workload certificate (or Mesh option trustDomain)', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  let server: WorkloadFiles;
  let web: WorkloadFiles;
  const open: Mesh[] = [];

  before(() => {
    pki = createSpiffePki();
    server = pki.workload('server', 'shop', 'calc', 'mesh', TD);
    web = pki.workload('web', 'front', 'web', 'mesh', TD);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });
  after(() => pki.remove());

  async function start(yaml: string, files: WorkloadFiles, extra: { trustDomain?: string } = {}) {
    const mesh = await Mesh.start({ config: writeYaml(yaml), identity: identity(files), logger: () => undefined, defaultTimeoutMs: 5000, ...extra });
    open.push(mesh);
    return mesh;
  }

  async function serve(principal: string) {
    const mesh = await start(serverPolicies(principal), server);
    const s = await startCalculatorServer(mesh, 'v1', 0, newServerLog());
    return s.port;
  }

  it('ISTIO_MUTUAL expects spiffe://<the certificate’s trust domain>/ns/<ns>/sa/<sa>, and cluster.local principals mean it', async () => {
    const port = await serve('cluster.local/ns/front/sa/web');
    const mesh = await start(calcClientYaml(port, '{mode: ISTIO_MUTUAL}'), web);
    assert.equal(mesh.identity, `spiffe://${TD}/ns/front/sa/web`);
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    assert.equal(await client.add(2, 3), 5);
    assert.equal(await client.header('source.principal'), `${TD}/ns/front/sa/web`);
  });

  it('a principal in the trust domain itself matches too; another trust domain does not', async () => {
    const port = await serve(`${TD}/ns/front/sa/web`);
    const mesh = await start(calcClientYaml(port, '{mode: ISTIO_MUTUAL}'), web);
    assert.equal(await calculatorClient(mesh, { upstreamTransport: 'header' }).client.add(1, 1), 2);
    const other = await serve('elsewhere.example/ns/front/sa/web');
    const mesh2 = await start(calcClientYaml(other, '{mode: ISTIO_MUTUAL}'), web);
    await assert.rejects(calculatorClient(mesh2, { upstreamTransport: 'header' }).client.add(1, 1), /PERMISSION_DENIED|not authorized/);
  });

  it('the Mesh option trustDomain wins: a server in another trust domain than the one expected is refused (SAN mismatch)', async () => {
    const port = await serve('cluster.local/ns/front/sa/web');
    const mesh = await start(calcClientYaml(port, '{mode: ISTIO_MUTUAL}'), web, { trustDomain: 'other.example' });
    await assert.rejects(
      calculatorClient(mesh, { upstreamTransport: 'header' }).client.add(1, 1),
      (err: Error) => /CONNECT_FAILURE/.test(err.message) && err.message.includes(`presented spiffe://${TD}/ns/shop/sa/calc, expected one of spiffe://other.example/ns/shop/sa/calc`),
    );
    await assert.rejects(start('', web, { trustDomain: 'spiffe://x/y' }), (err: unknown) => err instanceof MeshError && /trustDomain/.test(err.message));
  });
});
