// npm run soak: mixed traffic through real servers for SOAK_SECONDS (default
// 600; or --seconds N): Thrift calls (add with a weighted split and a mirror,
// version() under an inbound local rate limit, echo) to three Node Calculator
// servers, and Dubbo calls (dubbo-js on the mesh) to two meta-mesh providers;
// routes with retries and timeouts; both YAML files rewritten every few
// seconds under the config watcher; one endpoint killed and restarted every
// minute. Then it reports the calls (every call must settle with a reply or
// an expected MeshError: see SoakLedger), heap growth after the first minute
// (after gc; target < 5 MB) and active handles (no growth), and exits 1 when a
// target is missed. Needs --expose-gc (the npm script passes it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createDubboServer, type DubboServer } from 'meta-mesh/dubbo';
import { createThriftConnection, createThriftServer, type ThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler } from '../../examples/thrift-canary/servers';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { demoClient } from '../adapters/dubbo/support';
import { DUBBO_IFACE, THRIFT_HOST, THRIFT_PORT, clientYaml, serverYaml, type SoakEndpoint } from './soak-config';
import { SoakLedger, type SoakCounts } from './soak-ledger';

export interface SoakOptions {
  readonly seconds: number;
  /** Calls per second asked of all workers together (they make fewer when the machine is slow). */
  readonly rate: number;
  readonly editEveryMs: number;
  readonly log: (line: string) => void;
}

export interface SoakReport {
  readonly seconds: number;
  readonly counts: SoakCounts;
  readonly samples: readonly string[];
  readonly configApplied: number;
  readonly configErrors: number;
  readonly kills: number;
  /** The client mesh's mirror counters (sent, dropped, failed, ...). */
  readonly mirror: unknown;
  readonly heapBaselineMb: number;
  readonly heapEndMb: number;
  /** Active handles by kind at each checkpoint: the end of the first minute, then every minute, then the end. */
  readonly handles: readonly Record<string, number>[];
  /** The targets missed; empty = pass. */
  readonly missed: readonly string[];
}

const HEAP_GROWTH_LIMIT_MB = 5;
/** A call not settled this long after it started is lost (routes time out after 3 s, retries included). */
const CALL_DEADLINE_MS = 30_000;

/** One server of the soak that can be killed and started again on the same port. */
interface SoakServer {
  readonly name: string;
  readonly endpoint: SoakEndpoint;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A server the soak can stop and start again on the same port; `create` makes a fresh one each time. */
function restartable(name: string, version: string, create: () => ThriftServer | DubboServer): { server: SoakServer; listen: () => Promise<number> } {
  let running: ThriftServer | DubboServer | undefined;
  let port = 0;
  const server: SoakServer = {
    name,
    get endpoint() {
      return { port, version };
    },
    async start() {
      running = create();
      port = await running.listen(port);
    },
    async stop() {
      await running?.close();
      running = undefined;
    },
  };
  return { server, listen: async () => (await server.start(), port) };
}

function thriftServer(mesh: Mesh, version: string, name: string): { server: SoakServer; listen: () => Promise<number> } {
  return restartable(name, version, () => createThriftServer(mesh, Calculator, calculatorHandler(version), { service: { host: THRIFT_HOST, port: THRIFT_PORT } }));
}

function dubboServer(mesh: Mesh, version: string, name: string): { server: SoakServer; listen: () => Promise<number> } {
  return restartable(name, version, () => createDubboServer(mesh, { services: { [DUBBO_IFACE]: { sayHello: (who: string) => `hello ${who} from ${version}` } } }));
}

async function settledMemory(): Promise<{ heapMb: number; handles: Record<string, number> }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run soak does)');
  gc();
  await delay(50);
  gc();
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  return { heapMb: process.memoryUsage().heapUsed / 2 ** 20, handles };
}

/**
 * Handle kinds whose count at the last checkpoint is above every earlier
 * checkpoint's. Connection pools grow to the most calls ever in flight to an
 * endpoint and may shrink when idle, so counts move between checkpoints; a
 * leak is growth that keeps going, and makes the end a new high.
 */
export function handleGrowth(checkpoints: readonly Record<string, number>[]): string[] {
  const end = checkpoints[checkpoints.length - 1] ?? {};
  const earlier = checkpoints.slice(0, -1);
  if (earlier.length === 0) return [];
  const most = (k: string) => Math.max(...earlier.map((c) => c[k] ?? 0));
  return Object.keys(end)
    .filter((k) => end[k]! > most(k))
    .map((k) => `${k} ${earlier.map((c) => c[k] ?? 0).join(', ')} -> ${end[k]}`);
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { seconds, log } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-soak-'));
  const serverFile = path.join(dir, 'servers', 'mesh.yaml');
  const clientFile = path.join(dir, 'client', 'mesh.yaml');
  fs.mkdirSync(path.dirname(serverFile));
  fs.mkdirSync(path.dirname(clientFile));
  let variant = 0;
  fs.writeFileSync(serverFile, serverYaml(variant));
  const quiet = () => undefined;
  const serverMesh = await Mesh.start({ config: serverFile, logger: quiet });

  const made = [
    thriftServer(serverMesh, 'v1', 'thrift v1 (a)'),
    dubboServer(serverMesh, 'v1', 'dubbo v1'),
    thriftServer(serverMesh, 'v2', 'thrift v2'),
    thriftServer(serverMesh, 'v1', 'thrift v1 (b)'),
    dubboServer(serverMesh, 'v2', 'dubbo v2'),
  ];
  for (const m of made) await m.listen();
  const servers = made.map((m) => m.server);
  const thriftEndpoints = () => servers.filter((s) => s.name.startsWith('thrift')).map((s) => s.endpoint);
  const dubboEndpoints = () => servers.filter((s) => s.name.startsWith('dubbo')).map((s) => s.endpoint);
  fs.writeFileSync(clientFile, clientYaml(thriftEndpoints(), dubboEndpoints(), variant));
  const clientMesh = await Mesh.start({ config: clientFile, logger: quiet });
  let configApplied = 0;
  let configErrors = 0;
  const errorsSeen: string[] = [];
  for (const mesh of [clientMesh, serverMesh]) {
    mesh.on('config', () => configApplied++);
    mesh.on('configError', (err: Error) => {
      configErrors++;
      if (errorsSeen.length < 3) errorsSeen.push(err.message.slice(0, 300));
    });
  }

  const conn = createThriftConnection(clientMesh, THRIFT_HOST, THRIFT_PORT);
  conn.on('error', quiet);
  const calc = thrift.createClient(Calculator, conn);
  const { demo } = demoClient(clientMesh);
  const ledger = new SoakLedger(CALL_DEADLINE_MS);

  let stopped = false;
  let paused: Promise<void> | undefined;
  let resume: () => void = quiet;
  const workers = 9;
  const paceMs = (workers * 1000) / options.rate;
  let n = 0;
  const thriftCall = (): Promise<unknown> => {
    const i = n++;
    switch (i % 3) {
      case 0:
        return ledger.track('thrift add', () => calc.add(i, 7), (r) => r === i + 7);
      case 1:
        return ledger.track('thrift version', () => calc.version(), (r) => r === 'v1' || r === 'v2');
      default:
        return ledger.track('thrift echo', () => calc.echo(`soak ${i}`), (r) => r === `soak ${i}`);
    }
  };
  const dubboCall = (): Promise<unknown> => {
    const who = `caller-${n++}`;
    return ledger.track(
      'dubbo sayHello',
      async () => {
        const { err, res } = await demo.sayHello(who);
        if (err !== null && err !== undefined) throw err;
        return res;
      },
      (r) => r === `hello ${who} from v1` || r === `hello ${who} from v2`,
    );
  };
  const worker = async (call: () => Promise<unknown>) => {
    while (!stopped) {
      if (paused !== undefined) {
        await paused;
        continue;
      }
      await Promise.all([call(), delay(paceMs)]);
    }
  };
  const running = [...Array.from({ length: 6 }, () => worker(thriftCall)), ...Array.from({ length: 3 }, () => worker(dubboCall))];

  // Calls past their deadline are lost; checked every second.
  const sweeper = setInterval(() => ledger.sweep(), 1000);
  // Config edits: both files rewritten in place (not atomically), so the watcher's debounce is exercised too.
  const editor = setInterval(() => {
    if (paused !== undefined) return;
    variant++;
    fs.writeFileSync(serverFile, serverYaml(variant));
    fs.writeFileSync(clientFile, clientYaml(thriftEndpoints(), dubboEndpoints(), variant));
  }, options.editEveryMs);
  // One endpoint killed and started again on its port every minute (every half run when shorter), mid-period.
  const killEveryMs = Math.min(60_000, (seconds * 1000) / 2);
  let kills = 0;
  let restarting: Promise<void> = Promise.resolve();
  const killOne = () => {
    const victim = servers[kills++ % servers.length]!;
    log(`  kill ${victim.name} (port ${victim.endpoint.port}) at ${elapsed().toFixed(0)} s`);
    restarting = (async () => {
      await victim.stop();
      await delay(2_000);
      await victim.start();
    })();
  };
  let killer: NodeJS.Timeout | undefined;
  const firstKill = setTimeout(() => {
    killOne();
    killer = setInterval(killOne, killEveryMs);
  }, killEveryMs / 2);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  /** Stops traffic and edits, lets every call, restart and reload finish, then measures. */
  const measure = async () => {
    paused = new Promise((r) => (resume = r));
    await restarting;
    await ledger.idle();
    await delay(500);
    return settledMemory();
  };
  const unpause = () => {
    paused = undefined;
    resume();
  };

  // Checkpoints: after the first minute (a third of a shorter run), then every minute, then at the end.
  const checkEverySeconds = Math.min(60, seconds / 3);
  const handles: Record<string, number>[] = [];
  let baseline: { heapMb: number; handles: Record<string, number> } | undefined;
  let end: { heapMb: number; handles: Record<string, number> };
  for (;;) {
    const next = Math.min(seconds, (handles.length + 1) * checkEverySeconds);
    await delay(Math.max(0, next - elapsed()) * 1000);
    const at = await measure();
    handles.push(at.handles);
    baseline ??= at;
    log(`  ${elapsed().toFixed(0)} s: heap ${at.heapMb.toFixed(2)} MB, handles ${JSON.stringify(at.handles)}, ${JSON.stringify(ledger.counts)}`);
    if (next >= seconds) {
      end = at;
      break;
    }
    unpause();
  }
  stopped = true;
  unpause();
  await Promise.all(running);
  for (const t of [sweeper, editor, killer, firstKill]) clearInterval(t);
  ledger.sweep();
  const mirror = (clientMesh.dump() as { mirror?: unknown }).mirror;
  await clientMesh.close();
  await serverMesh.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const counts = ledger.counts;
  const missed: string[] = [];
  if (counts.lost > 0) missed.push(`${counts.lost} calls lost`);
  if (counts.wrongReplies > 0) missed.push(`${counts.wrongReplies} wrong replies`);
  if (counts.ok === 0) missed.push('no call succeeded');
  if (configErrors > 0) missed.push(`${configErrors} config edits refused: ${errorsSeen.join(' | ')}`);
  if (end.heapMb - baseline.heapMb >= HEAP_GROWTH_LIMIT_MB) missed.push(`heap grew ${(end.heapMb - baseline.heapMb).toFixed(2)} MB after the first minute (limit ${HEAP_GROWTH_LIMIT_MB})`);
  const grown = handleGrowth(handles);
  if (grown.length > 0) missed.push(`handles grew: ${grown.join(', ')}`);
  return {
    seconds: elapsed(),
    counts,
    samples: ledger.samples,
    configApplied,
    configErrors,
    kills,
    mirror,
    heapBaselineMb: baseline.heapMb,
    heapEndMb: end.heapMb,
    handles,
    missed,
  };
}

function argument(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}

async function main(argv: readonly string[]): Promise<number> {
  const seconds = Number(argument(argv, 'seconds') ?? process.env.SOAK_SECONDS ?? 600);
  const rate = Number(argument(argv, 'rate') ?? process.env.SOAK_RATE ?? 400);
  if (!(seconds >= 6) || !(rate > 0)) throw new Error('--seconds must be at least 6 and --rate above 0');
  const log = (line: string) => console.log(line);
  log(`meta-mesh soak: ${seconds} s, ~${rate} calls/s asked, config edits every 3 s, one endpoint killed and restarted every ${Math.min(60, seconds / 2)} s`);
  const r = await runSoak({ seconds, rate, editEveryMs: 3_000, log });
  const c = r.counts;
  log(`calls ${c.calls} (${(c.calls / r.seconds).toFixed(0)}/s): ok ${c.ok}, rate-limited ${c.rateLimited}, failed with expected errors ${JSON.stringify(c.failed)}, wrong replies ${c.wrongReplies}, lost ${c.lost}`);
  log(`config edits applied ${r.configApplied}, refused ${r.configErrors}; endpoints killed and restarted ${r.kills}; mirrored ${JSON.stringify(r.mirror)}`);
  log(`heap after gc: ${r.heapBaselineMb.toFixed(2)} MB after the first minute, ${r.heapEndMb.toFixed(2)} MB at the end (growth ${(r.heapEndMb - r.heapBaselineMb).toFixed(2)} MB)`);
  log(`handles at each checkpoint: ${r.handles.map((h) => JSON.stringify(h)).join(' ')}`);
  for (const s of r.samples) log(`  ${s}`);
  if (r.missed.length > 0) {
    log(`FAIL: ${r.missed.join('; ')}`);
    return 1;
  }
  log('PASS');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
