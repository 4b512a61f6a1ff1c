// Dubbo costs: metadata extraction for a 1 KB request, and apache-dubbo-js
// through meta-mesh against apache-dubbo-js straight to the provider (a
// registry that points at it), interleaved in one run (A B A B ...) so machine
// noise hits both alike. The provider runs in its own process.
// Run: node dist/bench/dubbo.bench.js (prints figures, asserts nothing).
import { forkServer } from './support/fork-server';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dubbo, java, Registry } from 'apache-dubbo-js';
import { Mesh } from 'meta-mesh';
import { createDubboCodec, meshDubbo, meshRegistry, shimNodeUtilForDubbo } from 'meta-mesh/dubbo';
import { trackSocketWorkers } from '../test/adapters/dubbo/dubbo-js-capture';
import { closedLoop, summarize, type LoadResult } from './support/load';
import { runBench } from './support/run-bench';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as {
  EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer };
  DecoderV2: new (buf: Buffer) => { read(): unknown };
};
const SettingClass = (require('apache-dubbo-js/es7/setting') as { Setting: new () => { match(i: string, s: object): never } }).Setting;

// apache-dubbo-js calls util helpers Node 23 removed (a no-op on Node 20 and 22).
shimNodeUtilForDubbo();
/* eslint-enable @typescript-eslint/no-require-imports */

const IFACE = 'org.example.DemoService';

export interface DubboBenchOptions {
  concurrency?: number;
  calls?: number;
  rounds?: number;
  decodeIterations?: number;
}

/** A request of about 1 KB: an object, a list and a string argument, seven attachments. */
export function oneKilobyteRequest(): Buffer {
  const e = new hessian.EncoderV2();
  const user = java.combine('org.example.User', { id: java.long(42), name: 'ana', email: 'ana@example.com', roles: java.List([java.String('admin'), java.String('dev')]) });
  const values = [
    '2.0.2',
    IFACE,
    '1.0.0',
    'saveUser',
    'Lorg/example/User;Ljava/util/List;Ljava/lang/String;',
    user,
    java.List(Array.from({ length: 20 }, (_, i) => java.String(`tag-${i}`))),
    'n'.repeat(520),
    {
      $class: 'java.util.HashMap',
      $: {
        application: 'bench-consumer',
        interface: IFACE,
        path: IFACE,
        version: '1.0.0',
        group: 'blue',
        timeout: '3000',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    },
  ];
  for (const v of values) e.write(v);
  const body = e.get();
  const h = Buffer.from([0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

export interface DecodeCost {
  readonly bytes: number;
  /** Our codec: fastest and median batch, ns per decode. */
  readonly nsPerDecode: { readonly best: number; readonly median: number };
  /** hessian.js decoding the same body into objects (what a codec that materializes arguments pays), ns. */
  readonly hessianJsFullDecodeNs: { readonly best: number; readonly median: number };
  readonly nsPerEncodeWithMutation: number;
}

/** ns per call of `fn` over each of `batches` batches, interleaved with the other functions' batches. */
function interleavedBatches(fns: readonly (() => void)[], perBatch: number, batches: number): { best: number; median: number }[] {
  const times = fns.map(() => [] as number[]);
  for (const fn of fns) for (let i = 0; i < perBatch; i++) fn(); // JIT warm-up
  for (let b = 0; b < batches; b++) {
    fns.forEach((fn, f) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < perBatch; i++) fn();
      times[f]!.push(Number(process.hrtime.bigint() - t) / perBatch);
    });
  }
  return times.map((ts) => {
    ts.sort((a, b) => a - b);
    return { best: Math.round(ts[0]!), median: Math.round(ts[ts.length >> 1]!) };
  });
}

/**
 * Metadata extraction for a 1 KB request. This VM's speed drifts by a third
 * within a minute, so the loop runs in batches, interleaved with hessian.js
 * decoding the same body: the fastest batch is the cost without
 * interference, the median what a busy moment gives, and the ratio to
 * hessian.js holds across both.
 */
function decodeCost(iterations: number): DecodeCost {
  const frame = oneKilobyteRequest();
  const codec = createDubboCodec();
  const body = frame.subarray(16);
  const fullDecode = () => {
    const d = new hessian.DecoderV2(body);
    for (let i = 0; i < 9; i++) d.read();
  };
  const batches = 9;
  const [ours, theirs] = interleavedBatches([() => codec.decode(frame, 'request'), fullDecode], Math.max(1, Math.floor(iterations / batches)), batches);
  const decoded = codec.decode(frame, 'request');
  if (decoded.status !== 'done') throw new Error('bench input did not decode');
  const mutation = new Map([['x-canary', 'true']]);
  const n = iterations / 4;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) codec.encode(decoded.message, { requestId: i, mutation });
  const nsPerEncodeWithMutation = Number(process.hrtime.bigint() - t) / n;
  return { bytes: frame.length, nsPerDecode: ours!, hessianJsFullDecodeNs: theirs!, nsPerEncodeWithMutation: Math.round(nsPerEncodeWithMutation) };
}

function startProvider(): ReturnType<typeof forkServer> {
  return forkServer(path.join(__dirname, 'support/dubbo-provider.js'));
}

function yaml(port: number): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: demo}
spec:
  hosts: [${IFACE.toLowerCase()}]
  ports: [{number: 20880, name: tcp-metaprotocol-dubbo, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-dubbo: ${port}}}]
`;
}

type Hello = { sayHello(name: string): Promise<{ err: Error | null; res: unknown }> };

function client(register: (props: unknown) => Registry): Hello {
  const dubbo = new Dubbo({
    application: { name: 'bench' },
    register: register as never,
    dubboSetting: new SettingClass().match(IFACE, { version: '1.0.0' }),
    service: { demo: (d: Dubbo) => d.proxyService({ dubboInterface: IFACE, methods: { sayHello: (n: string) => [java.String(n)] } }) },
  });
  (client as { last?: Dubbo }).last = dubbo;
  return (dubbo.service as unknown as Record<string, Hello>).demo!;
}

export async function runDubboBench(options: DubboBenchOptions = {}): Promise<Record<string, unknown>> {
  const concurrency = options.concurrency ?? 64;
  const calls = options.calls ?? 20_000;
  const rounds = options.rounds ?? 3;
  const extraction = decodeCost(options.decodeIterations ?? 500_000);

  const { child, port } = await startProvider();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bench-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml(port));
  const mesh = await Mesh.start({ config: path.join(dir, 'mesh.yaml'), watch: false });
  const tracker = trackSocketWorkers();
  // dubbo-js straight to the provider: a registry that names it, as ZooKeeper would.
  class Direct extends Registry {
    constructor(props: object) {
      super(props);
      const self = this as unknown as { _dubboServiceUrlMap: Map<string, object[]>; _subscriber: { onData(s: Set<string>): void } };
      self._dubboServiceUrlMap.set(IFACE, [{ host: '127.0.0.1', port, path: IFACE, dubboVersion: '2.0.2', version: '1.0.0', group: '' }]);
      setImmediate(() => self._subscriber.onData(new Set([`127.0.0.1:${port}`])));
    }
  }
  const direct = client((props) => new Direct(props as object));
  const meshed = client(meshRegistry());
  meshDubbo((client as { last?: Dubbo }).last!, mesh);
  const ok = async (svc: Hello) => {
    const r = await svc.sayHello('bench');
    if (r.err !== null) throw r.err;
  };
  await closedLoop(() => ok(direct), concurrency, 5000);
  await closedLoop(() => ok(meshed), concurrency, 5000);
  const results: { direct: LoadResult[]; mesh: LoadResult[] } = { direct: [], mesh: [] };
  for (let r = 0; r < rounds; r++) {
    results.direct.push(await closedLoop(() => ok(direct), concurrency, calls));
    results.mesh.push(await closedLoop(() => ok(meshed), concurrency, calls));
  }
  tracker.close();
  await mesh.close();
  child.disconnect();
  child.kill();
  const d = summarize(results.direct);
  const m = summarize(results.mesh);
  return {
    metadataExtraction1KB: extraction,
    concurrency,
    callsPerRound: calls,
    rounds,
    direct: d,
    mesh: m,
    throughputRatio: Number((m.callsPerSecond / d.callsPerSecond).toFixed(3)),
    clientCpuRatio: Number((m.cpuUsPerCall / d.cpuUsPerCall).toFixed(3)),
  };
}

runBench(module, () => runDubboBench(process.env.BENCH_QUICK === '1' ? { calls: 3_000, rounds: 2, decodeIterations: 30_000 } : {}));
