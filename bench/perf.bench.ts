// `npm run bench` entry of the perf harness (bench/perf/): the full run by
// default, the quick one under `npm run bench -- --quick` (BENCH_QUICK=1).
// Results go to bench/results/perf.md, perf.json and two SVG charts (a quick run: bench/results/quick/).
import { runPerf } from './perf/run-perf';
import { runBench } from './support/run-bench';

runBench(module, () => runPerf([], process.env.BENCH_QUICK === '1'), { report: (code) => void (process.exitCode = code) });
