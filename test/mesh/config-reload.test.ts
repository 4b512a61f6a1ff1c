import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { MeshError, Snapshot } from 'meta-mesh';
import { callsInFlight } from '../support/calls-in-flight';
import { destination, meshYaml } from '../support/mesh-yaml';
import { HOST, PORT, calculatorClient, clientMesh, startFleet, type Fleet } from '../adapters/thrift/support';

function nextConfig(mesh: import('meta-mesh').Mesh): Promise<Snapshot> {
  return new Promise((resolve) => mesh.once('config', resolve));
}

describe('Mesh config reload', function () {
  this.timeout(60_000);
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet(['v1', 'v2', 'v3']);
  });
  after(() => fleet.close());

  it('loses no call in flight when the YAML drops an endpoint and changes weights', async () => {
    const split = (w1: number, w2: number, w3?: number) => `    - name: split
      route:
${destination(HOST, 'v1', w1)}
${destination(HOST, 'v2', w2)}${w3 === undefined ? '' : `\n${destination(HOST, 'v3', w3)}`}`;
    const { mesh, file } = await clientMesh(fleet.endpoints, split(30, 30, 40));
    try {
      const { client } = calculatorClient(mesh);
      const inFlight = Array.from({ length: 1000 }, (_, i) => client.sleep(50 + (i % 50)));
      // The edit lands while they are in flight: the first has reached a server.
      await new Promise<void>((resolve) => {
        const check = (): void => void (Object.values(fleet.logs).some((l) => (l.calls.sleep ?? 0) > 0) ? resolve() : setImmediate(check));
        check();
      });
      const reloaded = nextConfig(mesh);
      fs.writeFileSync(file, meshYaml({ host: HOST, port: PORT, endpoints: fleet.endpoints.filter((e) => e.version !== 'v3'), routes: split(90, 10) }));
      const snapshot = await reloaded;
      assert.equal(snapshot.clusters.get(`outbound|${PORT}|v3|${HOST}`), undefined);
      const results = await Promise.allSettled(inFlight);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, `failed: ${failed.slice(0, 3).map((f) => (f as PromiseRejectedResult).reason)}`);

      const v3Before = fleet.logs.v3!.calls.version ?? 0;
      const answers = await callsInFlight(2000, 64, () => client.version());
      const count = (v: string) => answers.filter((a) => a === v).length;
      assert.equal(count('v3'), 0);
      assert.equal(fleet.logs.v3!.calls.version ?? 0, v3Before);
      // Binomial(2000, 0.1): sd ~ 13.4; allow 5 sd.
      assert.ok(Math.abs(count('v2') - 200) <= 67, `v2 got ${count('v2')}`);
    } finally {
      await mesh.close();
    }
  });

  it('keeps the previous config when an edit is invalid, and reports why', async () => {
    const { mesh, file } = await clientMesh(fleet.endpoints.slice(0, 1));
    try {
      const errors: MeshError[] = [];
      const reported = new Promise<void>((resolve) => mesh.on('configError', (e) => (errors.push(e), resolve())));
      const version = mesh.snapshot.version;
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('resolution: STATIC', 'resolutoin: STATIC'));
      await reported;
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'CONFIG');
      assert.match(errors[0]!.message, /resolutoin/);
      assert.match(errors[0]!.message, /did you mean 'resolution'/);
      assert.equal(mesh.snapshot.version, version);
      const { client } = calculatorClient(mesh);
      assert.equal(await client.add(3, 4), 7);
    } finally {
      await mesh.close();
    }
  });
});
