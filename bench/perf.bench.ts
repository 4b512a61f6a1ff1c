// `npm run bench` entry of the perf harness (bench/perf/): the full run by
// default, the quick one under `npm run bench -- --quick` (BENCH_QUICK=1).
// Results go to bench/results/perf.md, perf.json and two SVG charts (a quick run: bench/results/quick/).
import { runPerf } from './perf/run-perf';

runPerf([], process.env.BENCH_QUICK === '1').then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
