// Import cost: how long `require(entry)` takes and how much RSS it adds, each in
// a fresh Node process (nothing cached), the entry points interleaved round by
// round so they share the machine's state side by side. Target (issue 20):
// require('meta-mesh/thrift') at most 1.3x the time of require('thrift') alone
// and at most +5 MB RSS over it. meta-mesh, meta-mesh/dubbo and meta-mesh/redis
// are reported beside them. Exits non-zero when a target is missed.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench } from './support/run-bench';

const root = path.resolve(__dirname, '../..');
const rounds = process.env.BENCH_QUICK ? 15 : 41;
const entries = ['thrift', 'meta-mesh/thrift', 'meta-mesh', 'meta-mesh/dubbo', 'meta-mesh/redis', 'meta-mesh/control-plane'] as const;

// In the child: time the require alone (not Node's own start), then RSS after it (heap, code, mapped modules).
const probe = `const t0 = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss }));`;

interface Sample {
  readonly ms: number;
  readonly rss: number;
}

function sample(entry: string): Sample {
  // cwd is the package root, so 'meta-mesh/...' resolves through package.json "exports" as for a user.
  const r = spawnSync(process.execPath, ['-e', probe, entry], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`require('${entry}') failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sample;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const samples = new Map<string, Sample[]>(entries.map((e) => [e, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round, so no entry always runs right after the same one.
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(i + round) % entries.length]!;
      samples.get(entry)!.push(sample(entry));
    }
  }
  const base = samples.get('thrift')!;
  const baseMs = median(base.map((s) => s.ms));
  const baseRss = median(base.map((s) => s.rss));
  console.log(`${rounds} fresh processes per entry point, interleaved; medians; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('entry point               require ms   x thrift   RSS MB   +MB over thrift');
  for (const entry of entries) {
    const s = samples.get(entry)!;
    const ms = median(s.map((x) => x.ms));
    const rss = median(s.map((x) => x.rss));
    console.log(
      `${entry.padEnd(25)} ${ms.toFixed(1).padStart(10)} ${(ms / baseMs).toFixed(2).padStart(10)} ${(rss / 2 ** 20).toFixed(1).padStart(8)} ${((rss - baseRss) / 2 ** 20).toFixed(1).padStart(17)}`,
    );
  }
  const thriftSamples = samples.get('meta-mesh/thrift')!;
  // The ratio of medians, and per round (same moment of machine load): both must hold.
  const ratio = median(thriftSamples.map((s) => s.ms)) / baseMs;
  const roundRatio = median(thriftSamples.map((s, i) => s.ms / base[i]!.ms));
  const extraMb = (median(thriftSamples.map((s) => s.rss)) - baseRss) / 2 ** 20;
  const checks = [
    { name: `meta-mesh/thrift time ${ratio.toFixed(2)}x thrift (per round ${roundRatio.toFixed(2)}x), target <= 1.30x`, ok: ratio <= 1.3 && roundRatio <= 1.3 },
    { name: `meta-mesh/thrift RSS +${extraMb.toFixed(1)} MB over thrift, target <= +5 MB`, ok: extraMb <= 5 },
  ];
  for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

runBench(module, main);
