// Outlier detection follows Envoy's semantics as Istio configures them, on a
// test clock: no real time passes in these tests.
import assert from 'node:assert/strict';
import { MeshError } from 'meta-mesh';
import { OutlierDetector, outlierOutcomeOf, type EjectionEvent, type OutlierOutcome, type UnejectionEvent } from '../../lib/cluster/outlier-detector';
import type { OutlierDetectionConfig } from '../../lib/cluster/outlier-detection-config';

interface Rig {
  detector: OutlierDetector;
  ejections: EjectionEvent[];
  unejections: UnejectionEvent[];
  advance(ms: number): void;
  report(index: number, outcome: OutlierOutcome, times?: number): void;
}

function rig(size: number, config: OutlierDetectionConfig = {}): Rig {
  let now = 1_000;
  const detector = new OutlierDetector(size, config, () => now);
  const ejections: EjectionEvent[] = [];
  const unejections: UnejectionEvent[] = [];
  detector.onEject((e) => ejections.push(e));
  detector.onUneject((e) => unejections.push(e));
  return {
    detector,
    ejections,
    unejections,
    advance: (ms) => (now += ms),
    report: (index, outcome, times = 1) => {
      for (let i = 0; i < times; i++) detector.report(index, outcome);
    },
  };
}

const ejected = (d: OutlierDetector): number[] => [...Array(d.size).keys()].filter((i) => d.isEjected(i));

describe('OutlierDetector', () => {
  describe('consecutive errors', () => {
    it('ejects an endpoint after consecutive5xxErrors errors in a row and returns it after baseEjectionTime', () => {
      const r = rig(10, { consecutive5xxErrors: 3, baseEjectionTime: 30_000 });
      r.report(4, 'error-reply', 2);
      r.report(4, 'success');
      r.report(4, 'error-reply', 2);
      assert.equal(r.detector.isEjected(4), false, 'a success breaks the run');
      r.report(4, 'error-reply');
      assert.equal(r.detector.isEjected(4), true);
      assert.deepEqual(r.ejections, [{ index: 4, reason: 'consecutive-5xx', durationMs: 30_000, multiplier: 1, ejectedCount: 1 }]);
      assert.equal(r.detector.isAvailable(4), false);
      r.advance(29_999);
      assert.equal(r.detector.isEjected(4), true);
      r.advance(1);
      assert.equal(r.detector.isEjected(4), false);
      assert.deepEqual(r.unejections, [{ index: 4, ejectedForMs: 30_000 }]);
      assert.equal(r.detector.ejectedCount, 0);
    });

    it('counts timeouts, resets and connect failures as 5xx errors when origins are not split', () => {
      const r = rig(10, {});
      for (const o of ['timeout', 'reset', 'connect-failure', 'error-reply', 'timeout'] as const) r.report(0, o);
      assert.deepEqual(ejected(r.detector), [0]);
      assert.equal(r.ejections[0]!.reason, 'consecutive-5xx');
    });

    it('counts only local-origin failures toward consecutiveGatewayErrors; an error reply breaks the run', () => {
      const r = rig(10, { consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 });
      for (const o of ['timeout', 'reset', 'error-reply', 'connect-failure', 'timeout'] as const) r.report(1, o);
      assert.equal(r.detector.isEjected(1), false);
      r.report(1, 'reset');
      assert.equal(r.detector.isEjected(1), true);
      assert.equal(r.ejections[0]!.reason, 'consecutive-gateway-failure');
    });

    it('maps the deprecated consecutiveErrors onto consecutiveGatewayErrors, as Istio does', () => {
      const r = rig(10, { consecutive5xxErrors: 0, consecutiveErrors: 2 });
      r.report(3, 'error-reply', 5);
      assert.equal(r.detector.isEjected(3), false);
      r.report(3, 'timeout', 2);
      assert.equal(r.ejections[0]!.reason, 'consecutive-gateway-failure');
    });

    it('with splitExternalLocalOriginErrors counts local failures apart, toward consecutiveLocalOriginFailures', () => {
      const r = rig(10, { splitExternalLocalOriginErrors: true, consecutive5xxErrors: 2, consecutiveLocalOriginFailures: 3 });
      r.report(2, 'timeout', 2);
      r.report(2, 'error-reply');
      assert.equal(r.detector.isEjected(2), false, 'local failures are not 5xx errors when split');
      r.report(2, 'connect-failure');
      assert.equal(r.detector.isEjected(2), true);
      assert.equal(r.ejections[0]!.reason, 'consecutive-local-origin-failure');

      r.report(5, 'error-reply', 2);
      assert.equal(r.detector.isEjected(5), false, 'maxEjectionPercent (10% of 10) allows one host');
    });

    it('with split origins counts an error reply as a gateway error, as Envoy maps it to 503', () => {
      const r = rig(10, { splitExternalLocalOriginErrors: true, consecutive5xxErrors: 0, consecutiveGatewayErrors: 2 });
      r.report(6, 'error-reply', 2);
      assert.equal(r.ejections[0]!.reason, 'consecutive-gateway-failure');
    });

    it('starts a returned host with clean counters', () => {
      const r = rig(10, { consecutive5xxErrors: 2, baseEjectionTime: 1_000 });
      r.report(0, 'error-reply', 2);
      r.advance(1_000);
      assert.equal(r.detector.isEjected(0), false);
      r.report(0, 'error-reply');
      assert.equal(r.detector.isEjected(0), false);
      r.report(0, 'error-reply');
      assert.equal(r.detector.isEjected(0), true);
    });
  });

  describe('ejection time', () => {
    it('lasts baseEjectionTime × times ejected, capped by maxEjectionTime', () => {
      const r = rig(10, { consecutive5xxErrors: 1, baseEjectionTime: 10_000, maxEjectionTime: 25_000, interval: 1e9 });
      const durations: number[] = [];
      for (let k = 0; k < 4; k++) {
        r.report(0, 'error-reply');
        const d = r.ejections.at(-1)!.durationMs;
        durations.push(d);
        r.advance(d);
        assert.equal(r.detector.isEjected(0), false);
      }
      assert.deepEqual(durations, [10_000, 20_000, 25_000, 25_000]);
    });

    it('decays the multiplier by one for each interval a host stays back', () => {
      const r = rig(10, { consecutive5xxErrors: 1, baseEjectionTime: 30_000, interval: 10_000 });
      r.report(0, 'error-reply'); // multiplier 1: 30 s
      r.advance(30_000);
      r.report(0, 'error-reply'); // multiplier 2: 60 s
      r.advance(60_000);
      assert.equal(r.detector.isEjected(0), false);
      r.advance(15_000); // back for 15 s: one whole interval boundary has passed since
      r.report(0, 'error-reply');
      assert.deepEqual(
        r.ejections.map((e) => [e.multiplier, e.durationMs]),
        [[1, 30_000], [2, 60_000], [2, 60_000]],
      );
    });

    it('forgets past ejections after enough quiet intervals, even with no traffic to look', () => {
      const r = rig(10, { consecutive5xxErrors: 1, baseEjectionTime: 30_000, interval: 10_000 });
      r.report(0, 'error-reply');
      r.advance(30_000);
      r.report(0, 'error-reply');
      r.advance(60_000 + 100_000);
      r.report(0, 'error-reply');
      assert.equal(r.ejections.at(-1)!.durationMs, 30_000);
    });
  });

  describe('limits', () => {
    it('never ejects more than maxEjectionPercent of the hosts', () => {
      const r = rig(10, { consecutive5xxErrors: 1, maxEjectionPercent: 20 });
      for (let i = 0; i < 5; i++) r.report(i, 'timeout');
      assert.deepEqual(ejected(r.detector), [0, 1]);
      assert.equal(r.detector.ejectedCount, 2);
      assert.deepEqual(r.detector.stats, { ejectionsEnforced: 2, ejectionsOverflow: 3 });
    });

    it('ejects nobody from a small cluster under the default 10% unless alwaysEjectOneHost is set', () => {
      const small = rig(5, { consecutive5xxErrors: 1 });
      small.report(0, 'timeout');
      assert.deepEqual(ejected(small.detector), []);
      const one = rig(5, { consecutive5xxErrors: 1, alwaysEjectOneHost: true });
      one.report(0, 'timeout');
      one.report(1, 'timeout');
      assert.deepEqual(ejected(one.detector), [0]);
    });

    it('ignores ejections while fewer than minHealthPercent of hosts are healthy', () => {
      const r = rig(4, { consecutive5xxErrors: 1, maxEjectionPercent: 100, minHealthPercent: 50, baseEjectionTime: 5_000 });
      r.report(0, 'reset');
      r.report(1, 'reset');
      assert.deepEqual(ejected(r.detector), [0, 1], 'half the hosts healthy: not below 50%');
      assert.equal(r.detector.panic, false);
      r.report(2, 'reset');
      assert.equal(r.detector.panic, true);
      assert.deepEqual(ejected(r.detector), [], 'below 50% healthy every host takes traffic again');
      assert.equal(r.detector.ejectedCount, 3);
      r.advance(5_000);
      assert.equal(r.detector.panic, false);
      assert.deepEqual(ejected(r.detector), []);
    });
  });

  describe('interval sweeps', () => {
    it('ejects a host whose success rate is below mean − 1.9 × stdev once the interval ends', () => {
      const r = rig(5, { consecutive5xxErrors: 0, enforcingSuccessRate: 100, successRateRequestVolume: 10, maxEjectionPercent: 100, interval: 10_000 });
      for (let i = 0; i < 4; i++) r.report(i, 'success', 10);
      r.report(4, 'success', 5);
      r.report(4, 'error-reply', 5); // rates 100,100,100,100,50: mean 90, stdev 20, threshold 52
      assert.deepEqual(ejected(r.detector), []);
      r.advance(10_000);
      assert.deepEqual(ejected(r.detector), [4]);
      assert.equal(r.ejections[0]!.reason, 'success-rate');
    });

    it('judges success rate only with successRateMinimumHosts hosts of successRateRequestVolume calls', () => {
      const r = rig(5, { consecutive5xxErrors: 0, enforcingSuccessRate: 100, successRateRequestVolume: 10, maxEjectionPercent: 100 });
      for (let i = 0; i < 3; i++) r.report(i, 'success', 10);
      r.report(3, 'success', 9); // below the request volume
      r.report(4, 'error-reply', 10);
      r.advance(10_000);
      assert.deepEqual(ejected(r.detector), []);
    });

    it('ejects hosts at or above failurePercentageThreshold failures', () => {
      const r = rig(5, { consecutive5xxErrors: 0, enforcingFailurePercentage: 100, maxEjectionPercent: 100 });
      for (let i = 0; i < 3; i++) r.report(i, 'success', 50);
      r.report(3, 'success', 8);
      r.report(3, 'timeout', 42); // 84%
      r.report(4, 'success', 7);
      r.report(4, 'error-reply', 43); // 86%
      r.advance(10_000);
      assert.deepEqual(ejected(r.detector), [4]);
      assert.equal(r.ejections[0]!.reason, 'failure-percentage');
    });

    it('judges each interval on its own results', () => {
      const r = rig(5, { consecutive5xxErrors: 0, enforcingFailurePercentage: 100, maxEjectionPercent: 100 });
      for (let i = 0; i < 5; i++) r.report(i, 'success', 50);
      r.advance(10_000);
      for (let i = 0; i < 4; i++) r.report(i, 'success', 50);
      r.report(4, 'error-reply', 50); // reported after the boundary: belongs to the next interval
      assert.deepEqual(ejected(r.detector), []);
      r.advance(10_000);
      assert.deepEqual(ejected(r.detector), [4]);
    });

    it('leaves success-rate and failure-percentage ejection off by default, as Istio does', () => {
      const r = rig(5, { consecutive5xxErrors: 0, maxEjectionPercent: 100 });
      for (let i = 0; i < 4; i++) r.report(i, 'success', 200);
      r.report(4, 'error-reply', 200);
      r.advance(10_000);
      assert.deepEqual(ejected(r.detector), []);
    });
  });

  describe('config and endpoint changes', () => {
    it('carries ejections and counters across a new endpoint list by key', () => {
      const r = rig(10, { consecutive5xxErrors: 2 });
      r.report(1, 'error-reply', 2); // b ejected
      r.report(2, 'error-reply'); // c one error in
      const before = ['a', 'b', 'c'];
      r.detector.remap([...before, ...'defghij'], ['c', 'b', 'x', ...'defghij']);
      assert.deepEqual(ejected(r.detector), [1]);
      assert.equal(r.detector.ejectedCount, 1);
      r.detector.remap(['c', 'b', 'x', ...'defghij'], ['c', 'b', 'x', ...'defghijkl']);
      assert.equal(r.detector.size, 12);
      assert.deepEqual(ejected(r.detector), [1]);
    });

    it('keeps state through reconfigure', () => {
      const r = rig(10, { consecutive5xxErrors: 3 });
      r.report(0, 'error-reply', 2);
      r.detector.reconfigure({ consecutive5xxErrors: 3, baseEjectionTime: 5_000 });
      r.report(0, 'error-reply');
      assert.equal(r.ejections[0]!.durationMs, 5_000);
    });

    it('ignores reports and questions about unknown endpoints', () => {
      const r = rig(3, { consecutive5xxErrors: 1 });
      r.report(-1, 'timeout');
      r.report(3, 'timeout');
      r.report(Number.NaN, 'timeout');
      r.report(0, 'bogus' as OutlierOutcome);
      assert.equal(r.detector.isEjected(7), false);
      assert.equal(r.detector.ejectedCount, 0);
    });

    it('rejects a config it cannot honour with a CONFIG error naming the field', () => {
      assert.throws(
        () => new OutlierDetector(3, { baseEjectionTime: 60_000, maxEjectionTime: 30_000 }),
        (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /outlierDetection\.maxEjectionTime/.test(e.message),
      );
      assert.throws(
        () => new OutlierDetector(3, { maxEjectionPercent: 150 }),
        (e: unknown) => e instanceof MeshError && /maxEjectionPercent is 150/.test(e.message),
      );
    });

    it('stops calling a listener once it is disposed', () => {
      const r = rig(10, { consecutive5xxErrors: 1, maxEjectionPercent: 100 });
      const seen: number[] = [];
      const sub = r.detector.onEject((e) => seen.push(e.index));
      r.report(0, 'timeout');
      sub.dispose();
      r.report(1, 'timeout');
      assert.deepEqual(seen, [0]);
      assert.equal(r.ejections.length, 2);
    });
  });

  it('classifies send failures into outcomes, leaving out failures that are not the endpoint’s', () => {
    assert.equal(outlierOutcomeOf(new MeshError('TIMEOUT', 't')), 'timeout');
    assert.equal(outlierOutcomeOf(new MeshError('UPSTREAM_RESET', 'r')), 'reset');
    assert.equal(outlierOutcomeOf(new MeshError('CONNECT_FAILURE', 'c')), 'connect-failure');
    assert.equal(outlierOutcomeOf(new MeshError('OVERFLOW', 'o')), undefined);
    assert.equal(outlierOutcomeOf(new Error('x')), undefined);
  });
});
