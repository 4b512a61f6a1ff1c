// The two connection models side by side (issue 17 item 2), in one run:
// - against the Node thrift server (answers many calls per connection): a raw
//   thrift client (one connection), a raw client pool (one thrift connection
//   per call in flight, up to the concurrency: what a raw client does to get
//   the non-multiplexed model), meta-mesh non-multiplexed (one call in flight
//   per pooled connection, Thrift's default) and meta-mesh multiplexed; rounds
//   interleaved so machine noise hits all alike. Under `models`, each meta-mesh
//   model has two throughput ratios: to the raw client on ONE connection, and to
//   the raw client operated in the SAME model (one connection for multiplexed,
//   the raw pool for non-multiplexed), beside the client's and the server
//   process's CPU per call of all three (the server does a read and a write per
//   call per connection, so one call per connection costs it more);
// - against a one-call-per-connection server (Python TThreadedServer): calls of
//   5 ms each, where the non-multiplexed model runs calls in parallel and the
//   multiplexed one (like a raw client's single connection) queues them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { startPythonServer } from '../test/support/python-server';
import { oneEndpointYaml } from '../test/support/mesh-yaml';
import { forkServer } from './support/fork-server';
import { closedLoop, median, summarize, type LoadResult } from './support/load';
import { serverStats } from './support/server-stats';
import { compareModel } from './support/model-report';
import type { ChildProcess } from 'node:child_process';
import { runBench } from './support/run-bench';

/** Two services on one server: `one` with a call per connection, `mux` multiplexed. */
function yaml(port: number): string {
  const se = (name: string, mux: boolean) => oneEndpointYaml(`${name}.bench.svc`, port, `{connectionPool: {multiplexing: ${mux}}}`);
  return `${se('one', false)}---\n${se('mux', true)}`;
}

async function meshFor(port: number): Promise<Mesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bench-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml(port));
  return Mesh.start({ config: path.join(dir, 'mesh.yaml'), watch: false });
}

type Client = { add(a: number, b: number): Promise<number>; sleep(ms: number): Promise<number> };
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

async function interleaved(
  clients: Record<string, Client>,
  call: (c: Client) => Promise<unknown>,
  concurrency: number,
  calls: number,
  rounds: number,
  server?: ChildProcess,
) {
  const results: Record<string, LoadResult[]> = {};
  const serverCpu: Record<string, number[]> = {};
  for (const name of Object.keys(clients)) {
    results[name] = [];
    serverCpu[name] = [];
    await closedLoop(() => call(clients[name]!), concurrency, Math.min(calls, 2000));
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, c] of Object.entries(clients)) {
      const before = server === undefined ? undefined : await serverStats(server);
      const result = await closedLoop(() => call(c), concurrency, calls);
      results[name]!.push(result);
      if (before !== undefined) serverCpu[name]!.push(((await serverStats(server!)).cpuUs - before.cpuUs) / result.calls);
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([k, v]) => [
      k,
      { ...summarize(v), ...(server === undefined ? {} : { serverCpuUsPerCall: Number(median(serverCpu[k]!).toFixed(1)) }) },
    ]),
  );
}

/** `size` raw thrift connections, each carrying one call at a time: a raw client's non-multiplexed pool. */
function rawPool(port: number, size: number): { client: Client; close(): void } {
  const conns = Array.from({ length: size }, () => thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol }));
  for (const c of conns) c.on('error', () => undefined);
  const free: Client[] = conns.map((c) => thrift.createClient(Calculator, c));
  const waiting: ((c: Client) => void)[] = [];
  const take = (): Promise<Client> => (free.length > 0 ? Promise.resolve(free.pop()!) : new Promise((resolve) => waiting.push(resolve)));
  const give = (c: Client): void => {
    const next = waiting.shift();
    if (next !== undefined) next(c);
    else free.push(c);
  };
  const use = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = await take();
    try {
      return await fn(c);
    } finally {
      give(c);
    }
  };
  return { client: { add: (a, b) => use((c) => c.add(a, b)), sleep: (ms) => use((c) => c.sleep(ms)) }, close: () => conns.forEach((c) => c.end()) };
}

/** A raw thrift client, a raw client pool and a meta-mesh client in each model, all calling the server on `port`. */
async function clientsFor(port: number, poolSize: number): Promise<{ clients: Record<string, Client>; close(): Promise<void> }> {
  const mesh = await meshFor(port);
  const rawConn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  const pool = rawPool(port, poolSize);
  const clients: Record<string, Client> = {
    raw: thrift.createClient(Calculator, rawConn),
    rawPool: pool.client,
    nonMultiplexed: thrift.createClient(Calculator, createThriftConnection(mesh, 'one.bench.svc', 9090, { transport: 'framed' })),
    multiplexed: thrift.createClient(Calculator, createThriftConnection(mesh, 'mux.bench.svc', 9090, { transport: 'framed' })),
  };
  return {
    clients,
    close: async () => {
      rawConn.end();
      pool.close();
      await mesh.close();
    },
  };
}

export async function runConnectionModelBench(quick: boolean): Promise<Record<string, unknown>> {
  const loadAtStart = Number(os.loadavg()[0]!.toFixed(2));
  const cps = (r: Record<string, { callsPerSecond: number }>, k: string) => r[k]!.callsPerSecond;
  // Against the Node server, at the concurrency of issue 17 (64) and a lower one.
  const node = await forkServer(path.join(__dirname, 'support/raw-thrift-server.js'), ['framed']);
  const nodeServer: Record<string, unknown> = {};
  for (const concurrency of quick ? [64] : [16, 64]) {
    const set = await clientsFor(node.port, concurrency);
    const r = await interleaved(set.clients, (c) => c.add(1, 2), concurrency, quick ? 4_000 : 15_000, 3, node.child);
    await set.close();
    nodeServer[`c${concurrency}`] = {
      ...r,
      models: {
        // A raw thrift client pipelines its calls on one connection: that is its multiplexed model.
        multiplexed: compareModel('multiplexed', r.multiplexed!, r.raw!, r.raw!, 'raw single connection'),
        nonMultiplexed: compareModel('non-multiplexed', r.nonMultiplexed!, r.raw!, r.rawPool!, `raw pool of ${concurrency}`),
      },
      rawPoolToRawSingleConnection: ratio(cps(r, 'rawPool'), cps(r, 'raw')),
    };
  }
  node.child.kill();

  // Against a server that answers one call at a time per connection.
  const py = await startPythonServer('framed', 'binary', 'bench');
  const onPySet = await clientsFor(py.port, 8);
  const onPython = await interleaved(onPySet.clients, (c) => c.sleep(5), 8, quick ? 200 : 600, 2);
  await onPySet.close();
  await py.stop();

  return {
    loadAverage1m: { atStart: loadAtStart, atEnd: Number(os.loadavg()[0]!.toFixed(2)) },
    nodeServer,
    oneCallPerConnectionServer: {
      concurrency: 8,
      call: 'sleep(5 ms)',
      ...onPython,
      models: {
        multiplexed: compareModel('multiplexed', onPython.multiplexed!, onPython.raw!, onPython.raw!, 'raw single connection'),
        nonMultiplexed: compareModel('non-multiplexed', onPython.nonMultiplexed!, onPython.raw!, onPython.rawPool!, 'raw pool of 8'),
      },
      nonMultiplexedOverMultiplexed: ratio(cps(onPython, 'nonMultiplexed'), cps(onPython, 'multiplexed')),
    },
  };
}

runBench(module, () => runConnectionModelBench(process.env.BENCH_QUICK === '1'));
