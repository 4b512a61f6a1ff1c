// runSliced shares one slice budget per turn of the event loop: work chained
// through promises (one runSliced awaiting another, as an xDS apply, its
// snapshot and the mesh state do) yields before it runs on past the budget.
import assert from 'node:assert/strict';
import { BUSY_SLICE_MS, noteWork, runSliced, watchLoopDemand, type Steps } from '../../lib/config/sliced-work';
import { busyFor, stepsPerTurn } from '../support/steps-per-turn';

function* step(order: string[], name: string, ms: number): Steps<string> {
  busyFor(ms);
  order.push(name);
  return name;
}

const freshTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runSliced', () => {
  it('a runSliced awaited after another that used the turn’s budget yields before its first step', async () => {
    await freshTurn();
    const order: string[] = [];
    setImmediate(() => order.push('turn'));
    const out = await runSliced(step(order, 'a', 3), 1).then(() => runSliced(step(order, 'b', 0), 1));
    assert.equal(out, 'b');
    assert.deepEqual(order, ['a', 'turn', 'b']);
  });

  it('runs its first step at once when the turn has budget left', async () => {
    await freshTurn();
    const order: string[] = [];
    setImmediate(() => order.push('turn'));
    await runSliced(step(order, 'a', 0), 1000).then(() => runSliced(step(order, 'b', 0), 1000));
    assert.deepEqual(order, ['a', 'b'], 'it yielded');
    await freshTurn();
    assert.deepEqual(order, ['a', 'b', 'turn']);
  });

  it('counts work noted outside it (a message decode) against the turn', async () => {
    await freshTurn();
    const order: string[] = [];
    setImmediate(() => order.push('turn'));
    noteWork(5, 'a decode');
    await runSliced(step(order, 'b', 0), 1);
    assert.deepEqual(order, ['turn', 'b']);
  });

  it('runs shorter slices while a registered probe says calls are in flight, and the usual ones once it is unregistered', async () => {
    const stepMs = 0.1;
    // Each step takes at least 0.1 ms of wall time, so a slice of BUSY_SLICE_MS (0.25 ms) holds at most 3 of them.
    const mostPerBusySlice = Math.ceil(BUSY_SLICE_MS / stepMs) + 1;
    let inFlight = true;
    const unregister = watchLoopDemand(() => inFlight);
    try {
      await freshTurn();
      const busyTurns = await runSliced(stepsPerTurn(200, stepMs), 4);
      assert.ok(Math.max(...busyTurns) <= mostPerBusySlice, `at most ${mostPerBusySlice} steps a turn while calls are in flight: ${busyTurns.join(' ')}`);
      inFlight = false;
      await freshTurn();
      const idleTurns = await runSliced(stepsPerTurn(200, stepMs), 4);
      // 4 ms slices hold up to 40 steps; a step the OS delays only makes a turn hold fewer.
      assert.ok(Math.max(...idleTurns) > mostPerBusySlice, `longer slices with no call in flight: ${idleTurns.join(' ')}`);
    } finally {
      unregister();
    }
    inFlight = true;
    await freshTurn();
    const after = await runSliced(stepsPerTurn(200, stepMs), 4);
    assert.ok(Math.max(...after) > mostPerBusySlice, `an unregistered probe is not asked: ${after.join(' ')}`);
  });
});
