import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection, createThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { calculatorHandler, newServerLog } from '../../examples/thrift-canary/servers';
import { startPythonServer, type PythonServer } from '../support/python-server';
import { writeMeshYaml } from '../support/mesh-yaml';

const HOST = 'policy.calc.svc';
const PORT = 9090;

/** The MetaRouter's one catch-all route, with extra route fields (timeout, retries, fault) indented to match. */
function route(extra = ''): string {
  return `    - name: all
      route:
        - destination:
            host: ${HOST}
${extra}`;
}

/** Adds a DestinationRule trafficPolicy to the generated manifests. */
function withPolicy(yaml: string, policy: string): string {
  return yaml.replace(`spec:\n  host: ${HOST}\n`, `spec:\n  host: ${HOST}\n  trafficPolicy:\n${policy}`);
}

async function meshFor(ports: number[], routes: string, policy = ''): Promise<Mesh> {
  const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: ports.map((p, i) => ({ port: p, version: `v${i}` })), routes });
  if (policy !== '') {
    const fs = await import('node:fs');
    fs.writeFileSync(file, withPolicy(fs.readFileSync(file, 'utf8'), policy));
  }
  return Mesh.start({ config: file, logger: () => undefined });
}

/** Runs `total` calls, `concurrency` at a time; calls `atCall` once when that many calls have started. */
async function load(total: number, concurrency: number, call: () => Promise<unknown>, atCall?: [number, () => void]): Promise<{ failed: boolean[]; errors: string[] }> {
  const failed = new Array<boolean>(total).fill(false);
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      if (atCall !== undefined && i === atCall[0]) atCall[1]();
      try {
        await call();
      } catch (err) {
        failed[i] = true;
        errors.push(String((err as Error).message));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failed, errors };
}

describe('traffic policy end to end', function () {
  this.timeout(60_000);

  describe('three Python thrift servers, one killed under load', () => {
    let servers: PythonServer[] = [];
    beforeEach(async () => {
      servers = await Promise.all([0, 1, 2].map((i) => startPythonServer('framed', 'binary', `py${i}`)));
    });
    afterEach(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });

    it('loses no call when retries cover connect failures and resets', async () => {
      const mesh = await meshFor(
        servers.map((s) => s.port),
        route(`      retries:\n        attempts: 3\n        retryOn: connect-failure,reset\n`),
      );
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT, { transport: 'framed' }));
        const { failed, errors } = await load(3000, 32, () => client.sleep(2), [1000, () => void servers[1]!.stop()]);
        assert.equal(failed.filter(Boolean).length, 0, `failures: ${errors.slice(0, 3).join(' | ')}`);
      } finally {
        await mesh.close();
      }
    });

    it('without retries, stops failing once outlier detection ejects the dead host', async () => {
      const mesh = await meshFor(
        servers.map((s) => s.port),
        route(),
        `    outlierDetection:\n      consecutive5xxErrors: 2\n      interval: 10s\n      baseEjectionTime: 60s\n      maxEjectionPercent: 50\n`,
      );
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT, { transport: 'framed' }));
        const { failed, errors } = await load(3000, 32, () => client.sleep(2), [1000, () => void servers[1]!.stop()]);
        const failures = failed.filter(Boolean).length;
        assert.ok(failures > 0, 'killing a host with no retries should fail some calls');
        assert.ok(errors.every((e) => /UPSTREAM_RESET|CONNECT_FAILURE/.test(e)), errors.slice(0, 3).join(' | '));
        const lastFailure = failed.lastIndexOf(true);
        assert.ok(lastFailure < 2000, `calls kept failing until call ${lastFailure}: the host was not ejected`);
        const dump = mesh.dump() as { upstreams: unknown[] };
        assert.ok(Array.isArray(dump.upstreams));
      } finally {
        await mesh.close();
      }
    });
  });

  describe('one meta-mesh server', () => {
    let serverMesh: Mesh;
    let port: number;
    let failing = true;
    const log = newServerLog();
    before(async () => {
      serverMesh = await Mesh.start();
      const handler = {
        ...calculatorHandler('v1', log),
        echo: async (text: string) => {
          // A non-declared error: the processor answers with a TApplicationException (an error reply).
          if (text === 'boom' && failing) throw new Error('boom');
          return text;
        },
      };
      const server = createThriftServer(serverMesh, Calculator, handler);
      port = await server.listen(0);
    });
    after(() => serverMesh.close());

    it('answers calls over http2MaxRequests at once with OVERFLOW', async () => {
      const mesh = await meshFor([port], route(), `    connectionPool:\n      http:\n        http2MaxRequests: 2\n`);
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT));
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.sleep(100)));
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(rejected.length, 3);
        for (const r of rejected) assert.match(r.reason.message, /OVERFLOW.*http2MaxRequests/);
      } finally {
        await mesh.close();
      }
    });

    it('injects aborts at the configured rate and delays with the fixed delay', async () => {
      const mesh = await meshFor([port], route(`      fault:\n        abort:\n          percentage:\n            value: 30\n          errorCode: OVER_LIMIT\n`));
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT));
        // 100 at a time: the test is about the abort rate, not about 4000 calls queueing for connections
        // (on a loaded machine some of those timed out and were counted as aborts).
        const results: PromiseSettledResult<number>[] = [];
        for (let i = 0; i < 4000; i += 100) results.push(...(await Promise.allSettled(Array.from({ length: 100 }, (_, j) => client.add(i + j, 1)))));
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        const aborted = rejected.filter((r) => /FAULT_ABORT|OVER_LIMIT/.test(String(r.reason?.message)));
        assert.deepEqual(rejected.filter((r) => !aborted.includes(r)).map((r) => String(r.reason?.message)).slice(0, 3), [], 'failures that are not the injected abort');
        // Binomial(4000, 0.3): sd ~ 29; allow 5 sd.
        assert.ok(Math.abs(aborted.length - 1200) <= 145, `aborted ${aborted.length}`);
      } finally {
        await mesh.close();
      }
      const slow = await meshFor([port], route(`      fault:\n        delay:\n          percentage:\n            value: 100\n          fixedDelay: 60ms\n`));
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(slow, HOST, PORT));
        const t0 = performance.now();
        assert.equal(await client.add(1, 1), 2);
        assert.ok(performance.now() - t0 >= 59, 'the call was not delayed');
      } finally {
        await slow.close();
      }
    });

    it('opens the error-rate breaker, then half-opens and closes after a good trial', async () => {
      const mesh = await meshFor([port], route(), `    errorRateBreaker:\n      errorThresholdPercentage: 50\n      volumeThreshold: 4\n      resetTimeout: 300ms\n`);
      try {
        const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT));
        failing = true;
        for (let i = 0; i < 4; i++) await assert.rejects(client.echo('boom'), /boom/);
        // Open: refused locally without reaching the server.
        await assert.rejects(client.echo('fine'), /CIRCUIT_OPEN/);
        failing = false;
        const breaker = mesh.currentState.clusters.get(`outbound|${PORT}||${HOST}`)!.resilience.breaker!;
        await new Promise<void>((resolve) => {
          const listening = breaker.onStateChange((s) => {
            if (s !== 'half-open') return;
            listening.dispose();
            resolve();
          });
        });
        assert.equal(await client.echo('trial'), 'trial');
        assert.equal(await client.echo('closed again'), 'closed again');
      } finally {
        failing = true;
        await mesh.close();
      }
    });

    it('retries a timed-out call on an idempotent method only', async () => {
      const tries = async (idempotent: string): Promise<number> => {
        // add (the warm-up below) has a route of its own without the 50 ms per-try timeout: on a busy machine
        // opening the pool's connections can take longer than that, and the warm-up is not what is tested.
        const warmUp = `    - name: warm-up\n      match:\n        attributes:\n          method:\n            exact: add\n      route:\n        - destination:\n            host: ${HOST}\n`;
        const mesh = await meshFor(
          [port],
          warmUp + route(`      timeout: 2s\n      retries:\n        attempts: 2\n        perTryTimeout: 50ms\n        retryOn: timeout\n        idempotentMethods: [${idempotent}]\n`),
        );
        try {
          const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, PORT));
          // Pool three connections first: a try that times out closes its own (it may still be answered), so each
          // retry takes an idle one at once instead of connecting inside its 50 ms on a busy machine.
          await Promise.all([client.add(1, 1), client.add(1, 1), client.add(1, 1)]);
          const before = log.calls.sleep ?? 0;
          // Each try times out after 50 ms while the server sleeps 150 ms.
          await assert.rejects(client.sleep(150), /TIMEOUT/);
          return (log.calls.sleep ?? 0) - before;
        } finally {
          await mesh.close();
        }
      };
      assert.equal(await tries('sleep'), 3);
      assert.equal(await tries('add'), 1);
    });
  });
});
