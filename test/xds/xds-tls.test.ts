// TLS and mutual TLS to the control plane, with real certificates made by
// openssl at test time: a Thrift call is routed by config fetched over TLS
// (xds.tls or a bootstrap file's tls channel_creds), and each way a handshake
// can fail ends start() with an error that names the setting to change.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh, type Snapshot, loadConfigFiles } from 'meta-mesh';
import { ControlPlaneServer } from 'meta-mesh/control-plane';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { startCalculatorServer } from '../../examples/thrift-canary/servers';
import type { XdsConfigSourceOptions, XdsDump } from '../../lib/xds';
import { destination, writeMeshYaml } from '../support/mesh-yaml';
import { createTestPki, type TestPki } from '../support/test-pki';

const HOST = 'tls.calc.svc';
const SERVICE = `${HOST}:9090`;
const quiet = () => undefined;

type Rejection = Error & { code?: string };

describe('xDS over TLS and mutual TLS', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let servers: Mesh;
  let snapshot: Snapshot;
  /** Serves TLS only. */
  let tlsCp: ControlPlaneServer;
  /** Requires client certificates signed by the test CA. */
  let mtlsCp: ControlPlaneServer;
  /** Serves plaintext. */
  let plainCp: ControlPlaneServer;
  let mesh: Mesh | undefined;

  before(async () => {
    pki = createTestPki();
    servers = await Mesh.start();
    const v1 = await startCalculatorServer(servers, 'v1', 0);
    const file = writeMeshYaml({ host: HOST, port: 9090, endpoints: [{ port: v1.port, version: 'v1' }], routes: `    - name: all\n      route:\n${destination(HOST, 'v1')}` });
    snapshot = await loadConfigFiles([file]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const cert = pki.read('serverCert');
    const key = pki.read('serverKey');
    const common = { snapshot, port: 0, host: '127.0.0.1', logger: quiet };
    tlsCp = await ControlPlaneServer.start({ ...common, tls: { cert, key } });
    mtlsCp = await ControlPlaneServer.start({ ...common, tls: { cert, key, ca: pki.read('ca') } });
    plainCp = await ControlPlaneServer.start(common);
  });

  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  after(async () => {
    await Promise.all([tlsCp?.close(), mtlsCp?.close(), plainCp?.close()]);
    await servers?.close();
    pki?.remove();
  });

  // The certificate names localhost and 127.0.0.1; localhost keeps Node from warning about an IP as TLS server name.
  const target = (cp: ControlPlaneServer) => `localhost:${cp.port}`;

  /** Mesh.start with both streams on `cp`, an empty environment (no GRPC_XDS_BOOTSTRAP from the shell) and fast retries. */
  const startMesh = async (cp: ControlPlaneServer | undefined, xds: Partial<XdsConfigSourceOptions>) => {
    const where = cp === undefined ? {} : { metaRds: target(cp), ads: target(cp) };
    mesh = await Mesh.start({ xds: { ...where, services: [SERVICE], env: {}, backoff: { initialMs: 20, maxMs: 100 }, ...xds }, logger: quiet });
    return mesh;
  };

  const xdsDump = (m: Mesh) => m.dump().xds as XdsDump;

  const callVersion = (m: Mesh) => thrift.createClient(Calculator, createThriftConnection(m, HOST, 9090)).version();

  const writeBootstrap = (name: string, json: unknown) => {
    const file = path.join(pki.dir, name);
    fs.writeFileSync(file, JSON.stringify(json));
    return file;
  };

  it('gets config from a TLS control plane with only the CA (a file path) and routes a call by it', async () => {
    const m = await startMesh(tlsCp, { tls: { ca: pki.files.ca } });
    assert.ok(m.snapshot.routeConfigs.has(`${HOST}_9090`));
    assert.equal(await callVersion(m), 'v1');
    assert.equal(xdsDump(m).resources.every((r) => r.clientStatus === 'ACKED'), true);
  });

  it('presents a client certificate (PEM text) to a control plane that requires one and routes a call', async () => {
    const nodes = new Set<string>();
    const seen = (_r: unknown, node: { id?: string } | undefined) => nodes.add(node?.id ?? '');
    mtlsCp.on('request', seen);
    try {
      const m = await startMesh(mtlsCp, { nodeId: 'mtls-client', tls: { ca: pki.read('ca').toString(), cert: pki.read('clientCert').toString(), key: pki.read('clientKey').toString() } });
      assert.equal(await callVersion(m), 'v1');
      assert.deepEqual([...nodes], ['mtls-client'], 'the control plane saw the client on the mutual-TLS streams');
    } finally {
      mtlsCp.off('request', seen);
    }
  });

  it("fails at once without a client certificate when onControlPlaneDown is 'error', saying to set xds.tls.cert and xds.tls.key", async () => {
    const t0 = Date.now();
    await assert.rejects(startMesh(mtlsCp, { tls: { ca: pki.files.ca }, onControlPlaneDown: 'error', waitForConfigMs: 10_000 }), (err: Rejection) => {
      assert.equal(err.code, 'CONNECT_FAILURE');
      assert.match(err.message, new RegExp(`localhost:${mtlsCp.port}`));
      assert.match(err.message, /requires a client certificate \(mutual TLS\): set xds\.tls\.cert and xds\.tls\.key/);
      assert.doesNotMatch(err.message, /SSL routines|\.c:\d+|Resolution note/, 'OpenSSL and grpc-js noise is dropped');
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, 'rejects on the first failed handshake, not at waitForConfigMs');
  });

  it('fails at waitForConfigMs without a client certificate by default, with the same advice', async () => {
    await assert.rejects(startMesh(mtlsCp, { tls: { ca: pki.files.ca }, waitForConfigMs: 400 }), (err: Rejection) => {
      assert.equal(err.code, 'TIMEOUT');
      assert.match(err.message, /no complete xDS config arrived within 400 ms/);
      assert.match(err.message, /not connected \(UNAVAILABLE: .*set xds\.tls\.cert and xds\.tls\.key\)/);
      return true;
    });
  });

  it('fails when the CA given did not sign the control plane certificate, saying to fix xds.tls.ca', async () => {
    await assert.rejects(startMesh(tlsCp, { tls: { ca: pki.files.otherCa }, onControlPlaneDown: 'error' }), (err: Rejection) => {
      assert.equal(err.code, 'CONNECT_FAILURE');
      assert.match(err.message, /not signed by a trusted CA: set xds\.tls\.ca/);
      return true;
    });
  });

  it('fails when the control plane does not trust the CA of the client certificate', async () => {
    const tls = { ca: pki.files.ca, cert: pki.files.otherClientCert, key: pki.files.otherClientKey };
    await assert.rejects(startMesh(mtlsCp, { tls, onControlPlaneDown: 'error' }), (err: Rejection) => {
      assert.equal(err.code, 'CONNECT_FAILURE');
      // TLS 1.3 may report this as an alert or as a bare failed connection; either way the client certificate is named.
      assert.match(err.message, /client certificate/);
      return true;
    });
  });

  it('says which side to change when only one side speaks TLS', async () => {
    await assert.rejects(startMesh(plainCp, { tls: { ca: pki.files.ca }, onControlPlaneDown: 'error' }), (err: Rejection) => {
      assert.match(err.message, /does not speak TLS on this port .*: remove xds\.tls/);
      return true;
    });
    await assert.rejects(startMesh(tlsCp, { onControlPlaneDown: 'error' }), (err: Rejection) => {
      assert.match(err.message, /answered no plaintext gRPC; if it serves TLS, set xds\.tls/);
      return true;
    });
  });

  it('refuses a client key that does not belong to the certificate before connecting', async () => {
    await assert.rejects(startMesh(mtlsCp, { tls: { ca: pki.files.ca, cert: pki.files.clientCert, key: pki.files.serverKey } }), (err: Rejection) => {
      assert.equal(err.code, 'CONFIG');
      assert.match(err.message, /^xds\.tls: the CA, certificate or key cannot be used \(.*key values mismatch.*\); .*private key that belongs to the certificate/);
      return true;
    });
  });

  describe('through a bootstrap file with channel_creds tls', () => {
    it('uses its CA, client certificate, key and node for a mutual-TLS control plane, and routes a call', async () => {
      const file = writeBootstrap('bootstrap-mtls.json', {
        xds_servers: [
          {
            server_uri: `dns:///${target(mtlsCp)}`,
            channel_creds: [{ type: 'tls', config: { ca_certificate_file: pki.files.ca, certificate_file: pki.files.clientCert, private_key_file: pki.files.clientKey } }],
            server_features: ['xds_v3'],
          },
        ],
        node: { id: 'sidecar~10.9.8.7~boot-1.ns~ns.svc.cluster.local', cluster: 'boot', metadata: { ISTIO_VERSION: '1.20.0' } },
      });
      const nodes = new Set<string>();
      const seen = (_r: unknown, node: { id?: string } | undefined) => nodes.add(node?.id ?? '');
      mtlsCp.on('request', seen);
      try {
        // No metaRds/ads: both streams go to the bootstrap's server.
        const m = await startMesh(undefined, { bootstrap: file });
        assert.equal(await callVersion(m), 'v1');
        assert.deepEqual([...nodes], ['sidecar~10.9.8.7~boot-1.ns~ns.svc.cluster.local']);
        assert.deepEqual(xdsDump(m).servers.map((s) => s.target), [target(mtlsCp), target(mtlsCp)]);
      } finally {
        mtlsCp.off('request', seen);
      }
    });

    it('names the bootstrap settings when the server wants a client certificate it does not give', async () => {
      const file = writeBootstrap('bootstrap-ca-only.json', {
        xds_servers: [{ server_uri: target(mtlsCp), channel_creds: [{ type: 'tls', config: { ca_certificate_file: pki.files.ca } }] }],
      });
      await assert.rejects(startMesh(undefined, { bootstrap: file, onControlPlaneDown: 'error' }), (err: Rejection) => {
        assert.equal(err.code, 'CONNECT_FAILURE');
        assert.match(err.message, /add certificate_file and private_key_file to the bootstrap's tls channel_creds config/);
        return true;
      });
    });

    it("names the bootstrap's ca_certificate_file when it is the wrong CA", async () => {
      const file = writeBootstrap('bootstrap-wrong-ca.json', {
        xds_servers: [{ server_uri: target(tlsCp), channel_creds: [{ type: 'tls', config: { ca_certificate_file: pki.files.otherCa } }] }],
      });
      await assert.rejects(startMesh(undefined, { bootstrap: file, onControlPlaneDown: 'error' }), (err: Rejection) => {
        assert.match(err.message, /set ca_certificate_file in the bootstrap's tls channel_creds config/);
        return true;
      });
    });

    it('lets xds.tls override the bootstrap credentials', async () => {
      const file = writeBootstrap('bootstrap-insecure.json', { xds_servers: [{ server_uri: target(tlsCp), channel_creds: [{ type: 'insecure' }] }] });
      const m = await startMesh(undefined, { bootstrap: file, tls: { ca: pki.files.ca } });
      assert.equal(await callVersion(m), 'v1');
    });
  });
});
