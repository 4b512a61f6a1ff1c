// Per-call cost of the resilience parts on the router's path, measured side by
// side against a bare awaited async call: outlier bookkeeping (isEjected +
// report), cluster thresholds (acquire + release), the error-rate breaker's
// run (opossum), and all three together. Variants alternate over several
// rounds and the median round counts, so they share the same machine state.
import { ClusterThresholds } from '../lib/cluster/cluster-thresholds';
import { ErrorRateBreaker } from '../lib/cluster/error-rate-breaker';
import { OutlierDetector } from '../lib/cluster/outlier-detector';
import { runBench } from './support/run-bench';

export interface ResilienceBenchResult {
  /** ns per call of `await send()` alone. */
  readonly bareNs: number;
  /** ns per call added by each part (variant minus bare). */
  readonly addedNs: { readonly outlier: number; readonly thresholds: number; readonly breaker: number; readonly all: number };
  /** Variant time over bare time. */
  readonly ratio: { readonly outlier: number; readonly thresholds: number; readonly breaker: number; readonly all: number };
}

type Variant = (i: number) => Promise<unknown>;

export async function runResilienceBench(iterations = Number(process.env.BENCH_QUICK ? 200_000 : 1_000_000), rounds = 5): Promise<ResilienceBenchResult> {
  const send = async (): Promise<number> => 1;
  const detector = new OutlierDetector(8, {});
  const thresholds = new ClusterThresholds('bench');
  const breaker = new ErrorRateBreaker('bench', {});
  const variants: Record<'bare' | 'outlier' | 'thresholds' | 'breaker' | 'all', Variant> = {
    // Every variant has the same shape (await, then return), so only the part differs.
    bare: async () => {
      const r = await send();
      return r;
    },
    outlier: async (i) => {
      const host = i & 7;
      if (detector.isEjected(host)) return 0;
      const r = await send();
      detector.report(host, 'success');
      return r;
    },
    thresholds: async () => {
      if (!thresholds.tryAcquireRequest()) throw thresholds.overflowError('requests');
      try {
        const r = await send();
        return r;
      } finally {
        thresholds.releaseRequest();
      }
    },
    breaker: async () => {
      const r = await breaker.run(send);
      return r;
    },
    all: async (i) => {
      if (!thresholds.tryAcquireRequest()) throw thresholds.overflowError('requests');
      try {
        const host = i & 7;
        if (detector.isEjected(host)) return 0;
        const r = await breaker.run(send);
        detector.report(host, 'success');
        return r;
      } finally {
        thresholds.releaseRequest();
      }
    },
  };
  const samples: Record<keyof typeof variants, number[]> = { bare: [], outlier: [], thresholds: [], breaker: [], all: [] };
  const measure = async (v: Variant, n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await v(i);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  for (const v of Object.values(variants)) await measure(v, Math.min(iterations, 100_000)); // warm up
  for (let r = 0; r < rounds; r++) {
    for (const [name, v] of Object.entries(variants) as [keyof typeof variants, Variant][]) samples[name].push(await measure(v, iterations));
  }
  breaker.shutdown();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bare = median(samples.bare);
  const added = (k: keyof typeof variants): number => Number((median(samples[k]) - bare).toFixed(0));
  const ratio = (k: keyof typeof variants): number => Number((median(samples[k]) / bare).toFixed(2));
  return {
    bareNs: Number(bare.toFixed(0)),
    addedNs: { outlier: added('outlier'), thresholds: added('thresholds'), breaker: added('breaker'), all: added('all') },
    ratio: { outlier: ratio('outlier'), thresholds: ratio('thresholds'), breaker: ratio('breaker'), all: ratio('all') },
  };
}

runBench(module, runResilienceBench, { report: (r) => console.log(r) });
