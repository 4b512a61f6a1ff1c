// The rate limit filter in a Thrift server's inbound chain (where Aeraki
// enforces limits): local buckets, then the global limit, and refused calls
// answered with the protocol's error reply.
import assert from 'node:assert/strict';
import * as thrift from 'thrift';
import { Mesh, type Filter } from 'meta-mesh';
import { createThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler, newServerLog, type ServerLog } from '../../examples/thrift-canary/servers';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { LocalRateLimiter, RedisRateLimiter, RlsRateLimiter, createRateLimitFilter } from '../../lib/ratelimit';
import { RedisServer } from '../support/redis-server';
import { TestRlsServer } from './test-rls-server';

const HOUR = 3_600_000;

interface Served {
  client: Calculator.Client;
  log: ServerLog;
  close(): Promise<void>;
}

async function serve(filter: Filter): Promise<Served> {
  const mesh = await Mesh.start({ filters: { inbound: [filter] } });
  const log = newServerLog();
  const server = createThriftServer(mesh, Calculator, calculatorHandler('v1', log));
  const port = await server.listen(0);
  const conn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TBufferedTransport, protocol: thrift.TBinaryProtocol });
  conn.on('error', () => undefined);
  return {
    client: thrift.createClient(Calculator, conn),
    log,
    close: async () => {
      conn.end();
      await mesh.close();
    },
  };
}

/** Each call's result, or the error message it failed with. */
async function outcomes(calls: (() => Promise<unknown>)[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of calls) out.push(await c().catch((e: Error) => `error: ${e.message}`));
  return out;
}

describe('rate limit filter (inbound, Thrift server)', function () {
  this.timeout(30_000);
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  it('refuses calls over a local condition bucket with an error naming the limit', async () => {
    const local = new LocalRateLimiter({
      conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 2, fillIntervalMs: HOUR } }],
    });
    const filter = createRateLimitFilter({ local });
    served = await serve(filter);
    const c = served.client;
    const results = await outcomes([() => c.add(1, 1), () => c.add(2, 2), () => c.add(3, 3), () => c.subtract(5, 1)]);
    assert.equal(results[0], 2);
    assert.equal(results[1], 4);
    assert.match(String(results[2]), /^error: .*over the local rate limit \(condition 1 \(method exact add\): 2 tokens/);
    assert.equal(results[3], 4);
    assert.equal(served.log.calls.add, 2, 'the refused call never reached the handler');
    assert.deepEqual(filter.stats.local, { ok: 3, rateLimited: 1 });
  });

  describe('with an Envoy rate limit service', () => {
    let rls: TestRlsServer;
    let limiter: RlsRateLimiter;
    before(async () => {
      rls = await TestRlsServer.start();
      limiter = new RlsRateLimiter({ target: rls.target, requestTimeoutMs: 2000 });
    });
    after(async () => {
      await limiter.close();
      await rls.close();
    });

    it('asks the service with one descriptor per configured property and refuses on OVER_LIMIT', async () => {
      rls.behaviour = (req) => ({ code: req.descriptors[0]!.entries[0]!.value === 'subtract' ? 'OVER_LIMIT' : 'OK' });
      const filter = createRateLimitFilter({
        global: {
          limiter,
          domain: 'calc',
          descriptors: [
            { property: 'method', descriptorKey: 'method' },
            { property: 'tenant', descriptorKey: 'tenant' },
          ],
        },
      });
      served = await serve(filter);
      const c = served.client;
      const results = await outcomes([() => c.add(1, 2), () => c.subtract(5, 1)]);
      assert.equal(results[0], 3);
      assert.match(String(results[1]), /over the global rate limit of domain 'calc' \(method=subtract; tenant=\)/);
      assert.deepEqual(
        rls.received.map((r) => r.descriptors.map((d) => d.entries)),
        [
          [[{ key: 'method', value: 'add' }], [{ key: 'tenant', value: '' }]],
          [[{ key: 'method', value: 'subtract' }], [{ key: 'tenant', value: '' }]],
        ],
      );
      assert.deepEqual(filter.stats.global, { ok: 1, rateLimited: 1 });
    });

    it('only asks about calls the match selects', async () => {
      rls.received.length = 0;
      rls.behaviour = { code: 'OVER_LIMIT' };
      const filter = createRateLimitFilter({
        global: { limiter, domain: 'calc', match: [{ name: 'method', kind: 'exact', value: 'echo' }], descriptors: [{ property: 'method', descriptorKey: 'method' }] },
      });
      served = await serve(filter);
      const c = served.client;
      const results = await outcomes([() => c.add(1, 2), () => c.echo('hi')]);
      assert.equal(results[0], 3);
      assert.match(String(results[1]), /over the global rate limit/);
      assert.equal(rls.received.length, 1);
    });
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    before(async () => {
      redis = await RedisServer.start();
    });
    after(() => redis.close());

    it('checks local buckets first, so a locally refused call costs no Redis round trip', async () => {
      const limiter = new RedisRateLimiter({
        redis: { port: redis.port },
        rules: { domain: 'calc', descriptors: [{ key: 'method', rate_limit: { unit: 'day', requests_per_unit: 3 } }] },
        requestTimeoutMs: 1000,
      });
      await limiter.ready();
      try {
        const local = new LocalRateLimiter({
          conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'echo' }], tokenBucket: { maxTokens: 1, fillIntervalMs: HOUR } }],
        });
        const filter = createRateLimitFilter({ local, global: { limiter, domain: 'calc', descriptors: [{ property: 'method', descriptorKey: 'method' }] } });
        served = await serve(filter);
        const c = served.client;
        const results = await outcomes([() => c.echo('a'), () => c.echo('b'), () => c.add(1, 1), () => c.add(1, 2), () => c.add(1, 3), () => c.add(1, 4)]);
        assert.equal(results[0], 'a');
        assert.match(String(results[1]), /local rate limit/);
        assert.deepEqual(results.slice(2, 5), [2, 3, 4]);
        assert.match(String(results[5]), /global rate limit of domain 'calc' \(method=add\)/);
        assert.equal(limiter.stats.redisCalls, 5, 'one echo and four adds reached Redis');
        assert.deepEqual(filter.stats, { local: { ok: 5, rateLimited: 1 }, global: { ok: 4, rateLimited: 1 } });
      } finally {
        await limiter.close();
      }
    });
  });
});
