// npm run fuzz [-- --inputs 1000000 --seed 1 --target thrift]: runs every
// target (or one) for that many mutated inputs and reports inputs/s, the heap
// before and after, and any finding with the seed and input index that
// reproduce it. Exit 1 on a finding.
import { mulberry32 } from '../support/mulberry32';
import { FUZZ_TARGETS, mutate, type FuzzTarget } from './fuzz-targets';

export interface FuzzReport {
  readonly target: string;
  readonly inputs: number;
  readonly perSecond: number;
  readonly heapBeforeMb: number;
  readonly heapAfterMb: number;
  readonly findings: readonly string[];
}

export function runTarget(target: FuzzTarget, inputs: number, seed: number, progress?: (done: number, perSecond: number, findings: number) => void, progressEvery = 100_000): FuzzReport {
  const rand = mulberry32(seed);
  const corpus = target.corpus();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const findings: string[] = [];
  const t0 = process.hrtime.bigint();
  const none = Buffer.alloc(0);
  for (let i = 0; i < inputs; i++) {
    const input = target.mutatesItself === true ? none : mutate(corpus[Math.floor(rand() * corpus.length)]!, rand);
    try {
      target.run(input, rand);
    } catch (err) {
      if (findings.length < 10) findings.push(`input ${i} (seed ${seed}): ${(err as Error).stack ?? String(err)}\n  bytes: ${input.toString('hex').slice(0, 400)}`);
    }
    if (progress !== undefined && (i + 1) % progressEvery === 0) progress(i + 1, (i + 1) / (Number(process.hrtime.bigint() - t0) / 1e9), findings.length);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  return { target: target.name, inputs, perSecond: inputs / seconds, heapBeforeMb: heapBefore / 2 ** 20, heapAfterMb: heapAfter / 2 ** 20, findings };
}

function main(argv: readonly string[]): number {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const inputs = Number(arg('inputs') ?? 1_000_000);
  const seed = Number(arg('seed') ?? 1);
  const only = arg('target');
  let failed = false;
  for (const target of FUZZ_TARGETS) {
    if (only !== undefined && !target.name.toLowerCase().startsWith(only.toLowerCase())) continue;
    // A line every 100,000 inputs: a run cut short still says how far it got.
    const r = runTarget(target, inputs, seed, (done, perSecond, found) =>
      console.log(`  ${target.name}: ${done} inputs, ${perSecond.toFixed(0)} inputs/s, ${found} findings so far`),
    );
    console.log(`${r.target}: ${r.inputs} inputs, ${r.perSecond.toFixed(0)} inputs/s, heap ${r.heapBeforeMb.toFixed(1)} -> ${r.heapAfterMb.toFixed(1)} MB, ${r.findings.length} findings`);
    for (const f of r.findings) console.log(f);
    if (r.findings.length > 0) failed = true;
  }
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
