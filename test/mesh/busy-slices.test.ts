// Config work runs in shorter slices while the mesh has calls in flight
// (sliced-work.ts BUSY_SLICE_MS, registered by every Mesh): a real thrift call
// through the mesh, held by its server, makes runSliced take a turn of the
// event loop after at most 0.25 ms of steps; once the call is answered, and
// once the mesh is closed with a call still out, slices are the usual length.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as thrift from 'thrift';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { BUSY_SLICE_MS, runSliced } from '../../lib/config/sliced-work';
import { oneEndpointYaml } from '../support/mesh-yaml';
import { startQuietMesh } from '../support/quiet-mesh';
import { stepsPerTurn } from '../support/steps-per-turn';

const STEP_MS = 0.1;
/** Steps of at least STEP_MS each that fit in a slice of BUSY_SLICE_MS, and the one that ends it. */
const MOST_PER_BUSY_SLICE = Math.ceil(BUSY_SLICE_MS / STEP_MS) + 1;

describe('Config work while calls are in flight', function () {
  this.timeout(20_000);

  it('runs in short slices while a thrift call through the mesh waits for its reply, and in the usual ones before and after', async () => {
    const held: (() => void)[] = [];
    let onArrival: (() => void) | undefined;
    const arrival = () => new Promise<void>((resolve) => (onArrival = resolve));
    const server = thrift.createServer(
      Calculator,
      {
        add: (a: number, b: number, reply: (err: unknown, sum: number) => void) => {
          held.push(() => reply(null, a + b));
          onArrival?.();
        },
      },
      { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const { mesh, file } = await startQuietMesh(oneEndpointYaml('calc.busy.svc', port));
    try {
      const idleBefore = await runSliced(stepsPerTurn(100, STEP_MS), 4);
      assert.ok(Math.max(...idleBefore) > MOST_PER_BUSY_SLICE, `no call yet: the usual slices (${idleBefore.join(' ')})`);

      const client = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc.busy.svc', 9090, { transport: 'framed' }));
      const first = arrival();
      const sum = client.add(2, 3);
      await first;
      const busy = await runSliced(stepsPerTurn(100, STEP_MS), 4);
      assert.ok(Math.max(...busy) <= MOST_PER_BUSY_SLICE, `a call in flight: at most ${MOST_PER_BUSY_SLICE} steps a turn (${busy.join(' ')})`);

      for (const release of held.splice(0)) release();
      assert.equal(await sum, 5);
      const idleAfter = await runSliced(stepsPerTurn(100, STEP_MS), 4);
      assert.ok(Math.max(...idleAfter) > MOST_PER_BUSY_SLICE, `the call answered: the usual slices again (${idleAfter.join(' ')})`);

      // A call left in flight when the mesh closes does not keep config work in short slices.
      const second = arrival();
      const open = client.add(1, 1).catch(() => undefined);
      await second;
      await mesh.close();
      await open;
      const closed = await runSliced(stepsPerTurn(100, STEP_MS), 4);
      assert.ok(Math.max(...closed) > MOST_PER_BUSY_SLICE, `a closed mesh is not asked (${closed.join(' ')})`);
    } finally {
      await mesh.close();
      for (const release of held.splice(0)) release();
      server.close();
      fs.rmSync(file, { force: true });
    }
  });
});
