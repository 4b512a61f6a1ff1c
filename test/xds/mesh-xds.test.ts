import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as thrift from 'thrift';
import { loadConfigFiles, Mesh, type Snapshot } from 'meta-mesh';
import { ControlPlaneServer } from 'meta-mesh/control-plane';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { writeMeshYaml, destination } from '../support/mesh-yaml';
import { freePort } from '../support/free-port';

const HOST = 'xds.calc.svc';
const RC = `${HOST}_9090`;

describe('Mesh.start({ xds }) against the local control plane', function () {
  this.timeout(60_000);

  it('runs the control-plane demo: a route change pushed under traffic loses no call', async () => {
    const script = path.resolve(__dirname, '../../examples/thrift-canary/run-xds.js');
    // Free ports and a copy of the demo's YAML naming them: another checkout may be running the suite too.
    const [v1, v2] = [await freePort(), await freePort()];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-demo-xds-'));
    const config = path.join(dir, 'mesh.yaml');
    const demoYaml = fs.readFileSync(path.resolve(__dirname, '../../../examples/thrift-canary/mesh.yaml'), 'utf8');
    fs.writeFileSync(config, demoYaml.replace(': 19091', `: ${v1}`).replace(': 19092', `: ${v2}`));
    const env = { ...process.env, MESH_CONFIG: config, V1_PORT: String(v1), V2_PORT: String(v2) };
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script], { env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    ).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
    const failed = [...out.matchAll(/failed (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(failed, [0, 0, 0]);
    const after = /after the push \(50\/50\)\s+v1\s+(\d+)\s+v2\s+(\d+)/.exec(out);
    assert.ok(after !== null, out);
    // 2000 calls split 50/50: sd ~ 22; allow 5 sd.
    assert.ok(Math.abs(Number(after[2]) - 1000) <= 112, out);
  });

  it('keeps serving while the control plane is killed and restarted, then applies its new config', async () => {
    const servers = await Mesh.start();
    const logs = { v1: newServerLog(), v2: newServerLog() };
    const v1 = await startCalculatorServer(servers, 'v1', 0, logs.v1);
    const v2 = await startCalculatorServer(servers, 'v2', 0, logs.v2);
    const file = writeMeshYaml({
      host: HOST,
      port: 9090,
      endpoints: [
        { port: v1.port, version: 'v1' },
        { port: v2.port, version: 'v2' },
      ],
      routes: `    - name: all\n      route:\n${destination(HOST, 'v1')}`,
    });
    const base: Snapshot = await loadConfigFiles([file]);
    let cp: ControlPlaneServer | undefined = await ControlPlaneServer.start({ snapshot: base, port: 0, host: '127.0.0.1', logger: () => undefined });
    const port = cp.port;
    const mesh = await Mesh.start({ xds: { metaRds: `127.0.0.1:${port}`, ads: `127.0.0.1:${port}`, services: [`${HOST}:9090`] }, logger: () => undefined });
    try {
      const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090));
      let failed = 0;
      let next = 0;
      let restarted: Promise<void> | undefined;
      const toV2: Snapshot = {
        ...base,
        version: 'to-v2',
        routeConfigs: new Map([[RC, { name: RC, routes: base.routeConfigs.get(RC)!.routes.map((r) => ({ ...r, clusters: [{ cluster: `outbound|9090|v2|${HOST}`, weight: 1 }] })) }]]),
      };
      const worker = async () => {
        while (next < 3000) {
          const i = next++;
          if (i === 500) {
            await cp!.close();
            cp = undefined;
          }
          if (i === 1500) {
            restarted = ControlPlaneServer.start({ snapshot: toV2, port, host: '127.0.0.1', logger: () => undefined }).then((s) => {
              cp = s;
            });
          }
          await client.add(i, 1).catch(() => failed++);
        }
      };
      const applied = new Promise((resolve) => mesh.once('config', resolve));
      await Promise.all(Array.from({ length: 16 }, worker));
      await restarted;
      assert.equal(failed, 0);
      await applied;
      const before = logs.v2.calls.add ?? 0;
      for (let i = 0; i < 50; i++) await client.add(i, i);
      assert.equal((logs.v2.calls.add ?? 0) - before, 50, 'after reconnecting, calls follow the new routes');
    } finally {
      await mesh.close();
      await cp?.close();
      await servers.close();
    }
  });

  it('keeps no reference to the initial snapshot once a newer one is applied', async () => {
    const file = writeMeshYaml({ host: HOST, port: 9090, endpoints: [{ port: 19091, version: 'v1' }], routes: `    - name: all\n      route:\n${destination(HOST, 'v1')}` });
    const base: Snapshot = await loadConfigFiles([file]);
    const cp = await ControlPlaneServer.start({ snapshot: base, port: 0, host: '127.0.0.1', logger: () => undefined });
    const target = `127.0.0.1:${cp.port}`;
    const mesh = await Mesh.start({ xds: { metaRds: target, ads: target, services: [`${HOST}:9090`] }, preconnect: false, logger: () => undefined });
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      // Made in a function of its own, so no variable of this one holds the initial snapshot.
      const initial = ((s: Snapshot) => new WeakRef(s.routeConfigs.get(RC)!))(mesh.snapshot);
      const applied = new Promise((resolve) => mesh.once('config', resolve));
      const rc = base.routeConfigs.get(RC)!;
      cp.setSnapshot({ ...base, version: 'renamed', routeConfigs: new Map([[RC, { ...rc, routes: rc.routes.map((r) => ({ ...r, name: `${r.name}-2` })) }]]) });
      await applied;
      assert.equal(mesh.snapshot.routeConfigs.get(RC)!.routes[0]!.name, 'all-2', 'the new routes are in force');
      await new Promise((r) => setImmediate(r));
      gc();
      assert.ok(initial.deref() === undefined, 'the initial route config (and its compiled table) is still held');
    } finally {
      await mesh.close();
      await cp.close();
    }
  });
});
