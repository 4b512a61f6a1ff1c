// The soak's accounting (npm run soak runs for minutes against real servers,
// too long and too load-sensitive for npm test; its arithmetic is proven here).
import assert from 'node:assert/strict';
import { MeshError, MeshErrorCode } from 'meta-mesh';
import { SoakLedger, classifyFailure } from './soak-ledger';
import { handleGrowth } from './run-soak';

describe('soak ledger', () => {
  it('counts replies, wrong replies, rate limits, expected failures and lost calls apart', async () => {
    const ledger = new SoakLedger(1000);
    const outcomes = await Promise.all([
      ledger.track('ok', async () => 3, (r) => r === 3),
      ledger.track('wrong', async () => 4, (r) => r === 3),
      ledger.track('limited', () => Promise.reject(new Error('[meta-mesh OVER_LIMIT] local rate limit of calc.soak.svc')), () => true),
      ledger.track('reset', () => Promise.reject(new MeshError(MeshErrorCode.UPSTREAM_RESET, 'the connection closed')), () => true),
      ledger.track('reset again', () => Promise.reject(new MeshError(MeshErrorCode.UPSTREAM_RESET, 'the connection closed')), () => true),
      ledger.track('no route', () => Promise.reject(new MeshError(MeshErrorCode.NO_ROUTE, 'no route')), () => true),
      ledger.track('type error', () => Promise.reject(new TypeError('x is undefined')), () => true),
      ledger.track('throws at once', () => {
        throw new Error('sync');
      }, () => true),
    ]);
    assert.deepEqual(outcomes, ['ok', 'wrong-reply', 'rate-limited', 'failed', 'failed', 'lost', 'lost', 'lost']);
    assert.deepEqual(ledger.counts, { calls: 8, ok: 1, rateLimited: 1, failed: { UPSTREAM_RESET: 2 }, wrongReplies: 1, lost: 3 });
    assert.equal(ledger.samples.length, 4);
    assert.match(ledger.samples.join('\n'), /wrong reply 4/);
  });

  it('counts a call that never settles as lost once, at its deadline, and not again when it settles late', async () => {
    let now = 0;
    const ledger = new SoakLedger(1000, () => now);
    let finish: (v: number) => void = () => undefined;
    const late = ledger.track('hangs', () => new Promise<number>((r) => (finish = r)), () => true);
    now = 999;
    ledger.sweep();
    assert.equal(ledger.counts.lost, 0);
    now = 1001;
    ledger.sweep();
    ledger.sweep();
    assert.equal(ledger.counts.lost, 1);
    assert.equal(ledger.inFlight, 1);
    const idle = ledger.idle();
    finish(1);
    assert.equal(await late, 'lost');
    await idle;
    assert.deepEqual(ledger.counts, { calls: 1, ok: 0, rateLimited: 0, failed: {}, wrongReplies: 0, lost: 1 });
  });

  it('reads the mesh code from a MeshError or from the [meta-mesh CODE] of a protocol error reply', () => {
    assert.deepEqual(classifyFailure(new MeshError(MeshErrorCode.TIMEOUT, 't')), { outcome: 'failed', code: 'TIMEOUT' });
    assert.deepEqual(classifyFailure(new Error('Internal error: [meta-mesh NO_HEALTHY_UPSTREAM] every endpoint is ejected')), { outcome: 'failed', code: 'NO_HEALTHY_UPSTREAM' });
    assert.deepEqual(classifyFailure('boom'), { outcome: 'lost', code: undefined });
  });

  it('reports the handle kinds whose count at the end is above every earlier checkpoint', () => {
    assert.deepEqual(handleGrowth([{ TCPSocketWrap: 4, Timeout: 3 }, { TCPSocketWrap: 4, Timeout: 2 }]), []);
    // A pool that grew and shrank again is no leak.
    assert.deepEqual(handleGrowth([{ TCPSocketWrap: 4 }, { TCPSocketWrap: 8 }, { TCPSocketWrap: 6 }]), []);
    assert.deepEqual(handleGrowth([{ TCPSocketWrap: 4 }, { TCPSocketWrap: 5 }, { TCPSocketWrap: 6, FSReqCallback: 1 }]), [
      'TCPSocketWrap 4, 5 -> 6',
      'FSReqCallback 0, 0 -> 1',
    ]);
    assert.deepEqual(handleGrowth([{ Timeout: 9 }]), []);
  });
});
