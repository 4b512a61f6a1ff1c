// The meta-mesh CLI (dist/bin/meta-mesh.js) run as a child process, as a user
// runs it: validate's exit codes and messages, a control plane that a mesh
// gets its routes from (plaintext and mutual TLS) and that pushes file
// changes, and dump of both the YAML's resources and what a client receives.
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { startCalculatorServer } from '../../examples/thrift-canary/servers';
import { ControlPlaneServer } from '../../lib/xds';
import { freePort } from '../support/free-port';
import { destination, meshYaml } from '../support/mesh-yaml';
import { createTestPki, type TestPki } from '../support/test-pki';

const CLI = path.resolve(__dirname, '../../bin/meta-mesh.js');
const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const DEMO_HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const HOST = 'cli.calc.svc';
const quiet = () => undefined;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its end (async, so servers in this process keep answering it). */
function run(args: readonly string[], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, env: cliEnv() }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** The shell's environment minus anything that would point the CLI at another control plane. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['GRPC_XDS_BOOTSTRAP', 'GRPC_XDS_BOOTSTRAP_CONFIG', 'AERAKI_XDS_ADDR', 'AERAKI_XDS_PORT']) delete env[k];
  return env;
}

interface Daemon {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

describe('meta-mesh CLI', function () {
  this.timeout(20_000);
  let dir: string;
  const children: ChildProcess[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-cli-'));
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  /** Starts `meta-mesh control-plane` and resolves once it says which port it serves. */
  const startControlPlane = (args: readonly string[]): Promise<Daemon> => {
    const child = spawn(process.execPath, [CLI, 'control-plane', ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`control plane did not start in 10 s:\n${out}\n${err}`)), 10_000);
      const check = () => {
        const m = /serving MetaRDS and ADS on port (\d+)/.exec(out);
        if (m === null) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve({ child, port: Number(m[1]), stdout: () => out, stderr: () => err, exited });
      };
      child.stdout!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`control plane exited with ${code} before serving:\n${out}\n${err}`));
      });
    });
  };

  describe('validate', () => {
    it('accepts good manifests: exit 0, counts on stdout, ignored kinds as warnings on stderr', async () => {
      const r = await run(['validate', DEMO]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ok: 1 services, 3 clusters, 1 route configs$/m);
      assert.match(r.stderr, /^warning: .*20-destination-rule\.yaml:\d+: Deployment .* is ignored/m);
    });

    it('rejects a bad field: exit 1, naming the file, line and field path', async () => {
      const file = write(
        'bad-port.yaml',
        'apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: svc\nspec:\n  hosts: [a.svc]\n  ports:\n    - number: notanumber\n      name: tcp-metaprotocol-thrift\n      protocol: TCP\n  resolution: STATIC\n',
      );
      const r = await run(['validate', file]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /1 problem in the mesh configuration/);
      assert.ok(r.stderr.includes(`${file}:8: ServiceEntry default/svc (document 1): spec.ports[0].number: expected an integer, got the string 'notanumber'`), r.stderr);
    });

    it('rejects broken YAML syntax, a route to an undeclared host and a missing path, each with its place', async () => {
      const syntax = write('syntax.yaml', 'kind: [unclosed\n  foo: : :\n');
      const router = write('router.yaml', `apiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: MetaRouter\nmetadata:\n  name: r\nspec:\n  hosts: [${HOST}]\n  routes:\n    - name: all\n      route:\n${destination(HOST, 'v1')}\n`);
      const missing = path.join(dir, 'missing.yaml');
      const [r, r2, r3] = await Promise.all([run(['validate', syntax]), run(['validate', router]), run(['validate', missing])]);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`${syntax}:1: document 1:`), r.stderr);
      assert.match(r.stderr, /fix the YAML syntax/);
      assert.equal(r2.code, 1);
      assert.ok(r2.stderr.includes(`${router}:11: MetaRouter default/r (document 1): spec.routes[0].route[0].destination.host: host '${HOST}' is not declared by any ServiceEntry`), r2.stderr);
      assert.equal(r3.code, 1);
      assert.ok(r3.stderr.includes(`${missing}: cannot read this path (ENOENT); check the path`), r3.stderr);
    });
  });

  it('shows the problem and usage with exit 2 for a missing argument or an unknown command', async () => {
    const [validate, dump, controlPlane, unknown] = await Promise.all([run(['validate']), run(['dump']), run(['control-plane', '--port', '0']), run(['frobnicate'])]);
    assert.deepEqual([validate.code, dump.code, controlPlane.code, unknown.code], [2, 2, 2, 2]);
    assert.match(validate.stderr, /^meta-mesh: validate needs at least one YAML file or directory\nusage:/);
    assert.match(dump.stderr, /^meta-mesh: dump needs --config <yaml\.\.\.>, --admin <host:port> or --xds <host:port>\nusage:/);
    assert.match(controlPlane.stderr, /^meta-mesh: control-plane needs --config <yaml\.\.\.>\nusage:/);
    assert.match(unknown.stderr, /^meta-mesh: unknown command 'frobnicate'\nusage:/);
  });

  it('refuses a flag the command does not take, naming it (a typo is not silently ignored), and a flag without its value', async () => {
    const [typo, missing, switchValue, lists] = await Promise.all([
      run(['control-plane', '--config', DEMO, '--prot', '9000']),
      run(['dump', '--admin']),
      run(['dump', '--exclude-resources=yes', '--admin', '127.0.0.1:1']),
      run(['validate', '--config', path.join(DEMO, '10-service-entry.yaml'), path.join(DEMO, '20-destination-rule.yaml')]),
    ]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^meta-mesh: unknown flag '--prot' for control-plane \(it takes --config, --port, --host, --tls-cert, --tls-key, --tls-ca\)\nusage:/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^meta-mesh: --admin needs a value\nusage:/);
    assert.equal(switchValue.code, 2);
    assert.match(switchValue.stderr, /^meta-mesh: --exclude-resources takes no value\nusage:/);
    // Words after --config are more files, as the usage writes it.
    assert.equal(lists.code, 0, lists.stderr);
    assert.match(lists.stdout, /^ok: /);
  });

  describe('dump', () => {
    it('--config prints the model and the Envoy resources the YAML makes', async () => {
      const r = await run(['dump', '--config', DEMO]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        config: { routeConfigs: Record<string, unknown>; clusters: Record<string, unknown> };
        resources: { routeConfigurations: { name: string }[]; clusters: { name: string }[]; assignments: { cluster_name: string }[] };
      };
      assert.deepEqual(Object.keys(out.config.routeConfigs), [`${DEMO_HOST}_9090`]);
      assert.deepEqual(out.resources.routeConfigurations.map((r) => r.name), [`${DEMO_HOST}_9090`]);
      assert.deepEqual(out.resources.clusters.map((c) => c.name).sort(), Object.keys(out.config.clusters).sort());
      assert.ok(out.resources.assignments.length > 0);
    });

    it('--xds prints what a client receives from a control plane, every resource ACKed', async () => {
      const cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false, logger: quiet });
      try {
        const r = await run(['dump', '--xds', `127.0.0.1:${cp.port}`, '--wait-ms', '5000']);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { config: { routeConfigs: Record<string, unknown> }; xds: { servers: { connected: boolean }[]; resources: { name: string; clientStatus: string }[] } };
        assert.deepEqual(Object.keys(out.config.routeConfigs), [`${DEMO_HOST}_9090`]);
        assert.ok(out.xds.resources.some((x) => x.name === `${DEMO_HOST}_9090`));
        assert.deepEqual([...new Set(out.xds.resources.map((x) => x.clientStatus))], ['ACKED']);
      } finally {
        await cp.close();
      }
    });

    it('--xds fails with exit 1 naming the unreachable server after --wait-ms', async () => {
      const port = await freePort();
      const r = await run(['dump', '--xds', `127.0.0.1:${port}`, '--wait-ms', '300']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`no complete xDS config arrived within 300 ms; .*MetaRDS 127\\.0\\.0\\.1:${port} not connected`));
      assert.match(r.stderr, /or raise --wait-ms$/m);
    });
  });

  describe('control-plane', () => {
    let servers: Mesh;
    let v1Port: number;
    let v2Port: number;
    let mesh: Mesh | undefined;

    before(async () => {
      servers = await Mesh.start();
      v1Port = (await startCalculatorServer(servers, 'v1', 0)).port;
      v2Port = (await startCalculatorServer(servers, 'v2', 0)).port;
    });
    afterEach(async () => {
      await mesh?.close();
      mesh = undefined;
    });
    after(async () => servers?.close());

    const yamlTo = (subset: string) =>
      meshYaml({
        host: HOST,
        port: 9090,
        endpoints: [
          { port: v1Port, version: 'v1' },
          { port: v2Port, version: 'v2' },
        ],
        routes: `    - name: all\n      route:\n${destination(HOST, subset)}`,
      });
    const callVersion = (m: Mesh) => thrift.createClient(Calculator, createThriftConnection(m, HOST, 9090)).version();

    it('serves the YAML on the port given, a mesh routes by it, a file change is pushed, and SIGTERM stops it with exit 0', async () => {
      const file = write('cp-mesh.yaml', yamlTo('v1'));
      const port = await freePort();
      const cp = await startControlPlane(['--config', file, '--port', String(port), '--host', '127.0.0.1']);
      assert.equal(cp.port, port);
      assert.match(cp.stdout(), /over plaintext/);
      const target = `127.0.0.1:${port}`;
      mesh = await Mesh.start({ xds: { metaRds: target, ads: target, services: [`${HOST}:9090`], env: {}, waitForConfigMs: 5000 }, logger: quiet });
      assert.equal(await callVersion(mesh), 'v1');

      const pushed = new Promise((resolve) => mesh!.once('config', resolve));
      fs.writeFileSync(file, yamlTo('v2'));
      await pushed;
      assert.equal(await callVersion(mesh), 'v2');

      cp.child.kill('SIGTERM');
      assert.equal(await cp.exited, 0);
    });

    it('serves mutual TLS with --tls-cert/--tls-key/--tls-ca: a mesh with a client certificate gets routes, dump --xds --tls-* too, and one without is refused', async () => {
      const pki: TestPki = createTestPki();
      try {
        const f = pki.files;
        const file = write('cp-mtls.yaml', yamlTo('v1'));
        const cp = await startControlPlane(['--config', file, '--port', '0', '--host', '127.0.0.1', '--tls-cert', f.serverCert, '--tls-key', f.serverKey, '--tls-ca', f.ca]);
        assert.match(cp.stdout(), /over mutual TLS/);
        const target = `localhost:${cp.port}`;
        mesh = await Mesh.start({
          xds: { metaRds: target, ads: target, services: [`${HOST}:9090`], env: {}, tls: { ca: f.ca, cert: f.clientCert, key: f.clientKey }, waitForConfigMs: 5000 },
          logger: quiet,
        });
        assert.equal(await callVersion(mesh), 'v1');

        const [dumped, refused] = await Promise.all([
          run(['dump', '--xds', target, '--tls-ca', f.ca, '--tls-cert', f.clientCert, '--tls-key', f.clientKey, '--wait-ms', '5000']),
          // Long enough for the refused handshake to be seen on a busy CPU: the advice comes from it.
          run(['dump', '--xds', target, '--tls-ca', f.ca, '--wait-ms', '3000']),
        ]);
        assert.equal(dumped.code, 0, dumped.stderr);
        assert.ok((JSON.parse(dumped.stdout) as { config: { routeConfigs: Record<string, unknown> } }).config.routeConfigs[`${HOST}_9090`] !== undefined);
        assert.equal(refused.code, 1);
        // The advice is in flag terms on the command line.
        assert.match(refused.stderr, /requires a client certificate \(mutual TLS\): set --tls-cert and --tls-key/);
      } finally {
        pki.remove();
      }
    });

    it('refuses bad flags (exit 2, with usage) and unusable TLS files (exit 1, not blamed on the port) before serving', async () => {
      const file = write('cp-flags.yaml', yamlTo('v1'));
      const missing = path.join(dir, 'no-such-key.pem');
      const notPem = write('not-a-cert.pem', 'hello\n');
      const [badPort, certOnly, unreadable, unusable] = await Promise.all([
        run(['control-plane', '--config', file, '--port', 'abc']),
        run(['control-plane', '--config', file, '--port', '0', '--tls-cert', file]),
        run(['control-plane', '--config', file, '--port', '0', '--tls-cert', file, '--tls-key', missing]),
        run(['control-plane', '--config', file, '--port', '0', '--tls-cert', notPem, '--tls-key', notPem]),
      ]);
      assert.deepEqual([badPort.code, certOnly.code, unreadable.code, unusable.code], [2, 2, 2, 1]);
      assert.match(badPort.stderr, /--port must be a number from 0 to 65535 \(0 picks a free one\), not 'abc'\nusage:/);
      assert.match(certOnly.stderr, /TLS needs both --tls-cert and --tls-key\nusage:/);
      assert.ok(unreadable.stderr.includes(`--tls-key ${missing}: cannot read it (ENOENT); check the path`), unreadable.stderr);
      assert.match(unusable.stderr, /^control plane tls: the certificate, key or CA cannot be used \(.*\); give PEM files/);
      assert.doesNotMatch(unusable.stderr, /pick a free port/);
    });
  });
});
