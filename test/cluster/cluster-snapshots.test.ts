// State carried across config snapshots, seen through Cluster: outcomes and
// availability go to the host with the endpoint's identity, whatever position
// a newer snapshot gave it; locality failover sees every ejection and return
// at once.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { type Call, type Message } from 'meta-mesh';
import { Cluster, ClusterResilienceRegistry, UpstreamPool } from 'meta-mesh/experimental';
import { BucketRotation } from '../../lib/cluster/bucket-rotation';
import type { ClusterConfig, Endpoint } from '../../lib/config/model';
import { sendWithRetries } from '../../lib/filters/upstream-send';
import { echoCodecFactory, echoFrame, EchoCodec, startEchoServer } from '../support/echo-protocol';

const NAME = 'outbound|9090||svc';

function config(endpoints: readonly Endpoint[], extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return { name: NAME, host: 'svc', port: 9090, subset: '', endpoints, lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000, ...extra };
}

function ep(port: number, address = '127.0.0.1', extra: Partial<Endpoint> = {}): Endpoint {
  return { address, port, labels: {}, weight: 1, ...extra };
}

/** A server that accepts and resets each connection on its first bytes: calls to it fail with UPSTREAM_RESET. */
async function startResetServer(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('data', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function echoCall(): Call {
  const codec = new EchoCodec();
  const request = (codec.decode(echoFrame(1, 1, 'echo', 'x')) as { message: Message }).message;
  return { request, expectReply: true, codecFactory: echoCodecFactory, metadata: request.metadata, signal: new AbortController().signal } as unknown as Call;
}

const ejectOnFirstError = { consecutive5xxErrors: 1, consecutiveGatewayErrors: 1, maxEjectionPercent: 100, baseEjectionTime: 30_000, interval: 10_000 };

describe('Cluster across snapshots', function () {
  this.timeout(20_000);

  it('an error of a call in flight on the old snapshot ejects that host, not the one now at its position', async () => {
    const echo0 = await startEchoServer();
    const echo2 = await startEchoServer();
    const reset = await startResetServer();
    const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
    const registry = new ClusterResilienceRegistry();
    try {
      const e0 = ep(echo0.port);
      const e1 = ep(reset.port);
      const e2 = ep(echo2.port);
      const before = config([e0, e1, e2], { lbPolicy: 'RING_HASH', outlierDetection: ejectOnFirstError });
      const old = new Cluster(before, pool, registry.apply([before]).get(NAME));
      // A hash key the ring sends to e1 (index 1 of the old list).
      let key: bigint | undefined;
      for (let k = 1n; key === undefined; k++) if (old.pickIndex(echoCodecFactory, k * 0x9e3779b97f4a7c15n) === 1) key = k * 0x9e3779b97f4a7c15n;
      const inFlight = sendWithRetries(echoCall(), old, { options: undefined, timeoutMs: 5000, hashKey: key, retry: undefined, events: {} });
      // While it is in flight, e0 leaves: e1 is now index 0, e2 index 1.
      const after = config([e1, e2], { lbPolicy: 'RING_HASH', outlierDetection: ejectOnFirstError });
      const current = new Cluster(after, pool, registry.apply([after]).get(NAME));
      await assert.rejects(inFlight, { code: 'UPSTREAM_RESET' });
      const detector = current.resilience.detector!;
      assert.equal(detector.isEjected(0), true, 'the host that failed (e1) was not ejected');
      assert.equal(detector.isEjected(1), false, 'a healthy host (e2) was ejected for e1’s error');
    } finally {
      pool.close();
      registry.close();
      reset.close();
      for (const e of [echo0, echo2]) {
        for (const s of e.sockets) s.destroy();
        e.server.close();
      }
    }
  });

  it('a cluster of the old snapshot skips the host ejected under the new one, by identity', () => {
    const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
    const registry = new ClusterResilienceRegistry();
    try {
      const [a, b, c] = [ep(1, '10.0.0.1'), ep(1, '10.0.0.2'), ep(1, '10.0.0.3')];
      const before = config([a, b, c], { outlierDetection: ejectOnFirstError });
      const old = new Cluster(before, pool, registry.apply([before]).get(NAME));
      // The new snapshot drops a: b is index 0, c index 1. c fails and is ejected.
      const after = config([b, c], { outlierDetection: ejectOnFirstError });
      const current = new Cluster(after, pool, registry.apply([after]).get(NAME));
      current.report(1, 'reset');
      // A retry still running on the old snapshot picks from [a, b, c]: never c (index 2), and b stays in.
      const picks = new Set<number>();
      for (let k = 0; k < 30; k++) picks.add(old.pickIndex(echoCodecFactory, undefined));
      assert.equal(picks.has(2), false, 'picked the ejected host c');
      assert.equal(picks.has(1), true, 'skipped b, which is healthy');
      // An outcome on the old snapshot for a host the new one dropped (a) changes nothing.
      old.report(0, 'reset');
      assert.equal(current.resilience.detector!.ejectedCount, 1);
    } finally {
      pool.close();
      registry.close();
    }
  });

  it('the resilience state holds the config’s own endpoint list; a new list naming the same hosts in order keeps ejections and counts as the latest', () => {
    const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
    const registry = new ClusterResilienceRegistry();
    try {
      const first = config([ep(1, '10.0.0.1'), ep(1, '10.0.0.2'), ep(2, '10.0.0.2')], { outlierDetection: ejectOnFirstError });
      const state = registry.apply([first]).get(NAME)!;
      assert.equal(state.endpoints, first.endpoints, 'the state copied the endpoint list');
      const one = new Cluster(first, pool, state);
      one.report(2, 'reset');
      assert.equal(state.detector!.isEjected(2), true);
      // Equal hosts, new objects (an EDS resend with other weights): the ejection stays on 10.0.0.2:2 and the
      // new cluster reports by position, as the latest snapshot.
      const second = config([ep(1, '10.0.0.1', { weight: 3 }), ep(1, '10.0.0.2'), ep(2, '10.0.0.2')], { outlierDetection: ejectOnFirstError });
      assert.equal(registry.apply([second]).get(NAME), state);
      assert.equal(state.endpoints, second.endpoints);
      assert.equal(state.detector!.isEjected(2), true, 'the ejection was lost on an update naming the same hosts');
      const two = new Cluster(second, pool, state);
      two.report(1, 'reset');
      assert.equal(state.detector!.isEjected(1), true);
      // The identity index tells the port apart: 10.0.0.2:1 and 10.0.0.2:2 are two hosts.
      assert.equal(state.indexOf('10.0.0.2', 2), 2);
      assert.equal(state.indexOf('10.0.0.2', 1), 1);
      assert.equal(state.indexOf('10.0.0.3', 1), -1);
      // Reordered: the old cluster's outcomes still land on the host, found by address and port.
      const third = config([ep(2, '10.0.0.2'), ep(1, '10.0.0.1')], { outlierDetection: ejectOnFirstError });
      registry.apply([third]);
      assert.equal(state.detector!.isEjected(0), true, '10.0.0.2:2 lost its ejection when it moved');
      assert.equal(state.detector!.isEjected(1), false);
      two.report(0, 'reset');
      assert.equal(state.detector!.isEjected(1), true, 'an outcome on the old snapshot missed the host it named');
    } finally {
      pool.close();
      registry.close();
    }
  });

  it('the breakers of clusters with the same bucket length share one process-wide rotation, and leave it on close', () => {
    // A bucket length no other test uses (3.3 s / 11 buckets = 300 ms), so the counts are this test's own.
    const breaker = { rollingCountTimeout: 3_300, rollingCountBuckets: 11 };
    const shared = BucketRotation.forBucket(300).controller;
    const other = BucketRotation.forBucket(330).controller;
    const before = [shared.listenerCount('rotate'), other.listenerCount('rotate')];
    const registry = new ClusterResilienceRegistry();
    try {
      const states = registry.apply([
        { ...config([ep(1)]), name: 'a', errorRateBreaker: breaker },
        { ...config([ep(1)]), name: 'b', errorRateBreaker: breaker },
        { ...config([ep(1)]), name: 'c', errorRateBreaker: { rollingCountTimeout: 3_300, rollingCountBuckets: 10 } },
      ]);
      assert.ok(states.get('a')?.breaker !== undefined && states.get('b')?.breaker !== undefined);
      assert.deepEqual([shared.listenerCount('rotate'), other.listenerCount('rotate')], [before[0]! + 2, before[1]! + 1]);
    } finally {
      registry.close();
    }
    assert.deepEqual([shared.listenerCount('rotate'), other.listenerCount('rotate')], before);
  });

  describe('locality failover', () => {
    // Four hosts in the local zone (priority 0), four in another (priority 1).
    const zoned = Array.from({ length: 8 }, (_, i) => ep(9090, `10.1.0.${i}`, { locality: { region: 'r1', zone: i < 4 ? 'z1' : 'z2' } }));
    const lb = { locality: {}, localLocality: { region: 'r1', zone: 'z1' }, healthyPanicThreshold: 0 };

    function spill(cluster: Cluster, picks: number): number {
      let remote = 0;
      for (let k = 0; k < picks; k++) if (cluster.pickIndex(echoCodecFactory, undefined) >= 4) remote++;
      return remote;
    }

    it('sees an ejection and a return at the very next pick', () => {
      let now = 0;
      const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
      const registry = new ClusterResilienceRegistry(undefined, () => now);
      try {
        const cfg = config(zoned, { lbPolicy: 'RANDOM', lb, outlierDetection: { ...ejectOnFirstError, baseEjectionTime: 1000 } });
        const cluster = new Cluster(cfg, pool, registry.apply([cfg]).get(NAME));
        assert.equal(spill(cluster, 200), 0, 'all local while the local zone is whole');
        // Two of four local hosts out: health min(100, 1.4 × 50) = 70%, so 30% of calls go to z2, from the next pick on.
        cluster.report(0, 'reset');
        cluster.report(1, 'reset');
        const remote = spill(cluster, 1000);
        assert.ok(remote > 200 && remote < 400, `${remote} of 1000 picks went to z2 after the ejections`);
        // The ejections run out: all local again at once.
        now += 1001;
        assert.equal(spill(cluster, 200), 0, 'still spilling after the hosts returned');
      } finally {
        pool.close();
        registry.close();
      }
    });

    it('a retry pick does not leave its tried hosts in the shares of later picks', async () => {
      const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
      const registry = new ClusterResilienceRegistry(undefined, () => 0);
      try {
        const cfg = config(zoned, { lbPolicy: 'RANDOM', lb, outlierDetection: ejectOnFirstError });
        const cluster = new Cluster(cfg, pool, registry.apply([cfg]).get(NAME));
        cluster.report(0, 'reset'); // a new availability version: the next pick recounts
        cluster.pickIndex(echoCodecFactory, undefined, [1, 2, 3]);
        // One of four local hosts out: health min(100, 1.4 × 75) = 100%, nothing spills.
        assert.equal(spill(cluster, 500), 0);
      } finally {
        pool.close();
        registry.close();
      }
    });
  });
});
