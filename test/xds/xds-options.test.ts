// How xDS options resolve against a gRPC bootstrap (GRPC_XDS_BOOTSTRAP file
// or GRPC_XDS_BOOTSTRAP_CONFIG JSON) and Aeraki's AERAKI_XDS_ADDR/PORT: which
// servers, which credentials, which node id, and what a bad bootstrap says.
// Every case passes `env` instead of touching process.env.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseBootstrap, readBootstrap } from '../../lib/xds';
import { resolveXdsOptions, type XdsOptions } from '../../lib/xds/xds-options';
import { createTestPki, type TestPki } from '../support/test-pki';

type Rejection = Error & { code?: string };

/** Asserts `fn` throws a CONFIG MeshError whose message matches every pattern. */
function throwsConfig(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: Rejection) => {
    assert.equal(err.code, 'CONFIG', err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const POD = { POD_NAME: 'app-7d9', POD_NAMESPACE: 'shop', INSTANCE_IP: '10.1.2.3' };

const ISTIO_BOOTSTRAP = {
  xds_servers: [{ server_uri: 'unix:///etc/istio/proxy/XDS', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 42] }],
  node: {
    id: 'sidecar~10.1.2.3~app-7d9.shop~shop.svc.cluster.local',
    cluster: 'app.shop',
    locality: { region: 'eu', zone: 'eu-1a' },
    metadata: { ISTIO_VERSION: '1.20.0', GENERATOR: 'grpc', LABELS: { app: 'app' }, INTERCEPTION_MODE: null, ANNOTATIONS: ['a', 1, true] },
  },
};

describe('xDS options: bootstrap and environment', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bootstrap-'));
    pki = createTestPki();
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    pki?.remove();
  });

  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };
  const resolve = (options: XdsOptions) => resolveXdsOptions({ env: {}, ...options });

  describe('where the bootstrap comes from', () => {
    it('reads the file GRPC_XDS_BOOTSTRAP names: its server, credentials and node', () => {
      const p = file('istio.json', ISTIO_BOOTSTRAP);
      const b = readBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: p })!;
      assert.deepEqual(b.xdsServers, [{ serverUri: 'unix:///etc/istio/proxy/XDS', channelCreds: { type: 'insecure' }, serverFeatures: ['xds_v3'] }]);
      assert.deepEqual(b.node, {
        id: 'sidecar~10.1.2.3~app-7d9.shop~shop.svc.cluster.local',
        cluster: 'app.shop',
        locality: { region: 'eu', zone: 'eu-1a', sub_zone: '' },
        metadata: {
          fields: {
            ISTIO_VERSION: { stringValue: '1.20.0' },
            GENERATOR: { stringValue: 'grpc' },
            LABELS: { structValue: { fields: { app: { stringValue: 'app' } } } },
            INTERCEPTION_MODE: { nullValue: 'NULL_VALUE' },
            ANNOTATIONS: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 1 }, { boolValue: true }] } },
          },
        },
      });
      // Resolved: a unix socket target is kept as it is (grpc-js dials it), both streams go there, the node is the bootstrap's.
      const r = resolve({ env: { GRPC_XDS_BOOTSTRAP: p } });
      assert.equal(r.adsTarget, 'unix:///etc/istio/proxy/XDS');
      assert.equal(r.rdsTarget, 'unix:///etc/istio/proxy/XDS');
      assert.equal(r.node.id, ISTIO_BOOTSTRAP.node.id);
      assert.equal(r.node.cluster, 'app.shop');
      assert.equal(r.node.metadata?.fields?.ISTIO_VERSION?.stringValue, '1.20.0');
      assert.equal(r.node.user_agent_name, 'meta-mesh');
      assert.deepEqual(r.security, { mode: 'plaintext', source: 'bootstrap' });
    });

    it('reads inline JSON from GRPC_XDS_BOOTSTRAP_CONFIG', () => {
      const r = resolve({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'istiod.istio-system.svc:15010' }], node: { id: 'inline-node' } }) } });
      assert.equal(r.adsTarget, 'istiod.istio-system.svc:15010');
      assert.equal(r.node.id, 'inline-node');
    });

    it('prefers the xds.bootstrap option to GRPC_XDS_BOOTSTRAP, and GRPC_XDS_BOOTSTRAP to GRPC_XDS_BOOTSTRAP_CONFIG', () => {
      const a = file('a.json', { xds_servers: [{ server_uri: 'a.example:1' }] });
      const b = file('b.json', { xds_servers: [{ server_uri: 'b.example:2' }] });
      const inline = JSON.stringify({ xds_servers: [{ server_uri: 'inline.example:3' }] });
      assert.equal(resolve({ bootstrap: a, env: { GRPC_XDS_BOOTSTRAP: b, GRPC_XDS_BOOTSTRAP_CONFIG: inline } }).adsTarget, 'a.example:1');
      assert.equal(resolve({ env: { GRPC_XDS_BOOTSTRAP: b, GRPC_XDS_BOOTSTRAP_CONFIG: inline } }).adsTarget, 'b.example:2');
      assert.equal(resolve({ env: { GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: inline } }).adsTarget, 'inline.example:3', 'an empty variable counts as unset');
    });

    it('has no bootstrap when neither variable is set', () => {
      assert.equal(readBootstrap(undefined, {}), undefined);
      assert.equal(readBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: '' }), undefined);
    });

    it('takes the first channel_creds type it supports, as gRPC does', () => {
      const b = parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'spiffe' }, { type: 'tls', config: { ca_certificate_file: '/ca.pem' } }, { type: 'insecure' }] }] });
      assert.deepEqual(b.xdsServers[0]?.channelCreds, { type: 'tls', config: { ca_certificate_file: '/ca.pem' } });
    });
  });

  describe('which servers', () => {
    it('reads AERAKI_XDS_ADDR with AERAKI_XDS_PORT in Aeraki\'s ":15010" form, a bare port, or the default 15010', () => {
      assert.equal(resolve({ env: { AERAKI_XDS_ADDR: 'aeraki.istio-system', AERAKI_XDS_PORT: ':15010' } }).rdsTarget, 'aeraki.istio-system:15010');
      assert.equal(resolve({ env: { AERAKI_XDS_ADDR: 'aeraki.istio-system', AERAKI_XDS_PORT: '15011' } }).rdsTarget, 'aeraki.istio-system:15011');
      assert.equal(resolve({ env: { AERAKI_XDS_ADDR: 'aeraki.istio-system' } }).rdsTarget, 'aeraki.istio-system:15010');
      assert.equal(resolve({ env: { AERAKI_XDS_ADDR: 'aeraki.istio-system', AERAKI_XDS_PORT: ':' } }).rdsTarget, 'aeraki.istio-system:15010');
      // With nothing else named, ADS goes to the same server.
      assert.equal(resolve({ env: { AERAKI_XDS_ADDR: 'aeraki.istio-system' } }).adsTarget, 'aeraki.istio-system:15010');
      // AERAKI_XDS_PORT alone names no server.
      throwsConfig(() => resolve({ env: { AERAKI_XDS_PORT: ':15010' } }), /no xDS server to connect to/);
    });

    it('takes MetaRDS from Aeraki\'s variables and ADS from the bootstrap when both are set', () => {
      const env = { AERAKI_XDS_ADDR: 'aeraki.istio-system', GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'istiod.istio-system.svc:15012' }] }) };
      const r = resolve({ env });
      assert.equal(r.rdsTarget, 'aeraki.istio-system:15010');
      assert.equal(r.adsTarget, 'istiod.istio-system.svc:15012');
    });

    it('lets explicit metaRds and ads win over the bootstrap and the environment', () => {
      const env = { AERAKI_XDS_ADDR: 'aeraki.istio-system', GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'istiod:15012' }] }) };
      const r = resolve({ metaRds: 'my-aeraki:1', ads: 'my-istiod:2', env });
      assert.equal(r.rdsTarget, 'my-aeraki:1');
      assert.equal(r.adsTarget, 'my-istiod:2');
      // One given: it wins on its side; the other side still comes from where it would.
      assert.equal(resolve({ metaRds: 'my-aeraki:1', env }).adsTarget, 'istiod:15012');
      assert.equal(resolve({ ads: 'my-istiod:2', env }).rdsTarget, 'aeraki.istio-system:15010');
    });

    it('uses one server for both streams when only one is named', () => {
      const a = resolve({ metaRds: 'cp:15010' });
      assert.deepEqual([a.rdsTarget, a.adsTarget], ['cp:15010', 'cp:15010']);
      const b = resolve({ ads: 'cp:15012' });
      assert.deepEqual([b.rdsTarget, b.adsTarget], ['cp:15012', 'cp:15012']);
    });

    it('strips dns:///, xds:///, grpc://, http:// and https:// from targets', () => {
      assert.equal(resolve({ metaRds: 'dns:///aeraki.istio-system:15010' }).rdsTarget, 'aeraki.istio-system:15010');
      assert.equal(resolve({ metaRds: 'xds:///aeraki:15010' }).rdsTarget, 'aeraki:15010');
      assert.equal(resolve({ metaRds: 'grpc://aeraki:15010' }).rdsTarget, 'aeraki:15010');
      assert.equal(resolve({ metaRds: 'http://aeraki:15010' }).rdsTarget, 'aeraki:15010');
      assert.equal(resolve({ ads: 'https://istiod:15012' }).adsTarget, 'istiod:15012');
      assert.equal(resolve({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'dns:///istiod:15012' }] }) } }).adsTarget, 'istiod:15012');
    });

    it('says how to name a server when there is none', () => {
      throwsConfig(() => resolve({}), /no xDS server to connect to; set xds\.metaRds .* and xds\.ads .*, or AERAKI_XDS_ADDR, or a GRPC_XDS_BOOTSTRAP file/);
    });
  });

  describe('which node id', () => {
    const bootstrapEnv = { ...POD, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1' }], node: { id: 'from-bootstrap', cluster: 'c' } }) };

    it("gives the pod's Istio sidecar id for 'istio', from POD_NAME, POD_NAMESPACE and INSTANCE_IP in env", () => {
      assert.equal(resolve({ metaRds: 'x:1', nodeId: 'istio', env: POD }).node.id, 'sidecar~10.1.2.3~app-7d9.shop~shop.svc.cluster.local');
      // 'istio' wins over the bootstrap's id; the rest of the bootstrap's node stays.
      const r = resolve({ nodeId: 'istio', env: bootstrapEnv });
      assert.equal(r.node.id, 'sidecar~10.1.2.3~app-7d9.shop~shop.svc.cluster.local');
      assert.equal(r.node.cluster, 'c');
    });

    it('uses an explicit id as given, over the bootstrap\'s', () => {
      assert.equal(resolve({ metaRds: 'x:1', nodeId: 'my-node' }).node.id, 'my-node');
      assert.equal(resolve({ nodeId: 'my-node', env: bootstrapEnv }).node.id, 'my-node');
    });

    it("uses the bootstrap's id when none is given", () => {
      assert.equal(resolve({ env: bootstrapEnv }).node.id, 'from-bootstrap');
    });

    it('otherwise makes an Istio-shaped id unique to this process, different on each start', () => {
      const a = resolve({ metaRds: 'x:1', env: POD }).node.id!;
      const b = resolve({ metaRds: 'x:1', env: POD }).node.id!;
      const shape = new RegExp(`^sidecar~10\\.1\\.2\\.3~app-7d9-${process.pid}-[0-9a-f]{6}\\.shop~shop\\.svc\\.cluster\\.local$`);
      assert.match(a, shape);
      assert.match(b, shape);
      assert.notEqual(a, b);
      // Without the pod variables: the default namespace, this host's name.
      assert.match(resolve({ metaRds: 'x:1' }).node.id!, new RegExp(`^sidecar~[\\d.]+~${escape(os.hostname())}-${process.pid}-[0-9a-f]{6}\\.default~default\\.svc\\.cluster\\.local$`));
    });

    it('announces meta-mesh as the user agent with the package version', () => {
      const node = resolve({ metaRds: 'x:1' }).node;
      assert.equal(node.user_agent_name, 'meta-mesh');
      assert.equal(node.user_agent_version, (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version);
    });
  });

  describe('which credentials', () => {
    it('is plaintext with no tls and no bootstrap', () => {
      const r = resolve({ metaRds: 'x:1' });
      assert.deepEqual(r.security, { mode: 'plaintext', source: 'default' });
      assert.equal(r.credentials._isSecure(), false);
    });

    it('is TLS with xds.tls ca, mutual TLS with cert and key too, from PEM text, file paths or Buffers', () => {
      const tls = resolve({ metaRds: 'x:1', tls: { ca: pki.files.ca } });
      assert.deepEqual(tls.security, { mode: 'tls', source: 'xds.tls' });
      assert.equal(tls.credentials._isSecure(), true);
      assert.deepEqual(resolve({ metaRds: 'x:1', tls: { ca: pki.read('ca').toString(), cert: pki.read('clientCert'), key: pki.files.clientKey } }).security, {
        mode: 'mtls',
        source: 'xds.tls',
      });
    });

    it("is TLS from the bootstrap's tls channel_creds files, and xds.tls wins over them", () => {
      const creds = { type: 'tls', config: { ca_certificate_file: pki.files.ca, certificate_file: pki.files.clientCert, private_key_file: pki.files.clientKey } };
      const env = { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1', channel_creds: [creds] }] }) };
      assert.deepEqual(resolve({ env }).security, { mode: 'mtls', source: 'bootstrap' });
      assert.deepEqual(resolve({ env, tls: { ca: pki.files.ca } }).security, { mode: 'tls', source: 'xds.tls' });
      const caOnly = { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'tls', config: { ca_certificate_file: pki.files.ca } }] }] }) };
      assert.deepEqual(resolve({ env: caOnly }).security, { mode: 'tls', source: 'bootstrap' });
    });
  });

  describe('what a bad bootstrap or TLS setting says', () => {
    it('names a bootstrap file that cannot be read, and the variable that named it', () => {
      const missing = path.join(dir, 'nope', 'bootstrap.json');
      throwsConfig(() => resolve({ bootstrap: missing }), new RegExp(`^xDS bootstrap ${escape(missing)} cannot be read \\(ENOENT\\); check the path$`));
      throwsConfig(() => resolve({ env: { GRPC_XDS_BOOTSTRAP: missing } }), /\(named by GRPC_XDS_BOOTSTRAP\) cannot be read \(ENOENT\)/);
    });

    it('says a bootstrap is not JSON', () => {
      const p = file('not-json.json', '{ xds_servers: [');
      throwsConfig(() => resolve({ bootstrap: p }), new RegExp(`xDS bootstrap ${escape(p)} is not JSON \\(`));
      throwsConfig(() => resolve({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: 'xds_servers=1' } }), /^xDS bootstrap GRPC_XDS_BOOTSTRAP_CONFIG is not JSON/);
      throwsConfig(() => parseBootstrap(['not', 'an', 'object']), /must be a JSON object with xds_servers and node/);
    });

    it('asks for xds_servers and a server_uri in each', () => {
      for (const json of [{}, { xds_servers: [] }, { xds_servers: 'x:1' }]) {
        throwsConfig(() => parseBootstrap(json, 'b.json'), /^xDS bootstrap b\.json has no xds_servers; list at least one \{"server_uri": "host:port"\}$/);
      }
      throwsConfig(() => parseBootstrap({ xds_servers: [{ server_uri: 'a:1' }, { channel_creds: [] }] }), /^xDS bootstrap xds_servers\[1\] has no server_uri$/);
    });

    it('lists the channel_creds types it supports when none given is one', () => {
      throwsConfig(
        () => parseBootstrap({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'spiffe' }, { type: 'xds' }] }] }),
        /xds_servers\[0\]\.channel_creds has no type meta-mesh supports; use one of insecure, tls, google_default/,
      );
    });

    it('asks for a node id when node has none', () => {
      for (const node of [{}, { id: '' }, { id: 7 }, 'node-1']) {
        throwsConfig(() => parseBootstrap({ xds_servers: [{ server_uri: 'x:1' }], node }), /node has no id; give node\.id .* or leave node out/);
      }
    });

    it('asks for the key with a client certificate, and the certificate with a key', () => {
      throwsConfig(() => resolve({ metaRds: 'x:1', tls: { ca: pki.files.ca, cert: pki.files.clientCert } }), /xds\.tls needs both cert and key for mutual TLS, or neither for server-only TLS/);
      throwsConfig(() => resolve({ metaRds: 'x:1', tls: { key: pki.files.clientKey } }), /xds\.tls needs both cert and key/);
      const env = (config: object) => ({ GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'tls', config }] }] }) });
      throwsConfig(() => resolve({ env: env({ certificate_file: pki.files.clientCert }) }), /bootstrap channel_creds tls needs both certificate_file and private_key_file/);
      throwsConfig(() => resolve({ env: env({ private_key_file: pki.files.clientKey }) }), /bootstrap channel_creds tls needs both certificate_file and private_key_file/);
    });

    it('names the TLS file that cannot be read', () => {
      const missing = path.join(dir, 'missing-ca.pem');
      throwsConfig(() => resolve({ metaRds: 'x:1', tls: { ca: missing } }), new RegExp(`^xds\\.tls\\.ca: cannot read ${escape(missing)} \\(ENOENT\\); give PEM text or a readable file path$`));
      const env = { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'tls', config: { ca_certificate_file: missing } }] }] }) };
      throwsConfig(() => resolve({ env }), /^xDS bootstrap channel_creds ca_certificate_file: cannot read .*missing-ca\.pem \(ENOENT\)/);
    });

    it('says a client key that does not belong to the certificate cannot be used', () => {
      throwsConfig(() => resolve({ metaRds: 'x:1', tls: { cert: pki.files.clientCert, key: pki.files.serverKey } }), /^xds\.tls: the CA, certificate or key cannot be used/);
      const env = { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'x:1', channel_creds: [{ type: 'tls', config: { certificate_file: pki.files.clientCert, private_key_file: pki.files.serverKey } }] }] }) };
      throwsConfig(() => resolve({ env }), /^the xDS bootstrap channel_creds tls config: the CA, certificate or key cannot be used/);
    });
  });
});
