// runSliced shares one slice budget per turn of the event loop: work chained
// through promises (one runSliced awaiting another, as an xDS apply, its
// snapshot and the mesh state do) yields before it runs on past the budget.
import assert from 'node:assert/strict';
import { noteWork, runSliced, type Steps } from '../../lib/config/sliced-work';

/** Keeps the thread busy until `ms` have passed (the steps' own work). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function* step(order: string[], name: string, ms: number): Steps<string> {
  busy(ms);
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
});
