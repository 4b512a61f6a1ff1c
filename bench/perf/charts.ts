// The two charts of the perf report, rendered headless to SVG with vega-lite:
// open-loop latency percentiles by scenario (one panel per rate) and
// closed-loop throughput by concurrency. Latency points pool every round's
// calls, throughput points are medians over rounds; the bars span min..max.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { LATENCY_KEYS, type Aggregate } from './results';
import { SCENARIOS } from './scenarios';

const PERCENTILE_LABEL: Record<(typeof LATENCY_KEYS)[number], string> = { p50Us: 'p50', p90Us: 'p90', p99Us: 'p99', p999Us: 'p99.9' };
const color = { field: 'scenario', type: 'nominal', title: 'scenario', scale: { domain: [...SCENARIOS] } } as const;

async function render(spec: TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  fs.writeFileSync(file, await view.toSVG());
  view.finalize();
}

function latencySpec(aggs: readonly Aggregate[]): TopLevelSpec {
  const values = aggs
    .filter((a) => a.shape.kind === 'open')
    .flatMap((a) =>
      LATENCY_KEYS.map((k) => ({
        scenario: a.scenario,
        rate: `${a.shape.kind === 'open' ? a.shape.rate : 0} calls/s`,
        percentile: PERCENTILE_LABEL[k],
        ms: (a.pooledLatencyUs?.[k] ?? a.latencyUs[k].median) / 1000,
        lo: a.latencyUs[k].min / 1000,
        hi: a.latencyUs[k].max / 1000,
      })),
    );
  const x = { field: 'percentile', type: 'ordinal', sort: Object.values(PERCENTILE_LABEL), title: 'percentile' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Open-loop latency (from intended send time), all rounds pooled, bars min..max of rounds',
    data: { values },
    facet: { column: { field: 'rate', type: 'nominal', title: 'offered rate' } },
    spec: {
      width: 260,
      height: 260,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms, log scale)' }, color } },
        { mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      ],
    },
  } as TopLevelSpec;
}

function throughputSpec(aggs: readonly Aggregate[]): TopLevelSpec {
  const values = aggs
    .filter((a) => a.shape.kind === 'closed')
    .map((a) => ({
      scenario: a.scenario,
      concurrency: a.shape.kind === 'closed' ? a.shape.concurrency : 0,
      cps: a.callsPerSecond.median,
      lo: a.callsPerSecond.min,
      hi: a.callsPerSecond.max,
    }));
  const x = { field: 'concurrency', type: 'ordinal', title: 'concurrency (calls in flight, closed loop)' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Closed-loop throughput, median of rounds, bars min..max',
    data: { values },
    width: 420,
    height: 280,
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'cps', type: 'quantitative', title: 'calls/s' }, color } },
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
    ],
  } as TopLevelSpec;
}

/** Writes latency-percentiles.svg and throughput-by-concurrency.svg; returns their paths. */
export async function writeCharts(aggs: readonly Aggregate[], dir: string): Promise<string[]> {
  const files = [path.join(dir, 'latency-percentiles.svg'), path.join(dir, 'throughput-by-concurrency.svg')];
  await render(latencySpec(aggs), files[0]!);
  await render(throughputSpec(aggs), files[1]!);
  return files;
}
