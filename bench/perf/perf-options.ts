// Command-line options of the perf harness and the two run plans: quick
// (about a minute, for a smoke check) and full (the numbers to quote).
import * as path from 'node:path';
import { SCENARIOS, type ScenarioName } from './scenarios';
import type { LoadShape } from './client-worker';

export interface PerfOptions {
  readonly quick: boolean;
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  readonly rates: readonly number[];
  readonly warmupMs: number;
  /** Open loop: unmeasured calls at the rate before the window, in the same schedule. */
  readonly openWarmupMs: number;
  /** Open loop: a closed-loop burst before the schedule (quick runs, whose warm-up is too short for V8 to compile the hot code). */
  readonly openBurstMs: number;
  readonly closedMs: number;
  readonly openMs: number;
  readonly scenarios: readonly ScenarioName[];
  readonly pin: boolean;
  readonly outDir: string;
  readonly charts: boolean;
  /** Profile one scenario's client instead of measuring (or, with profOnMiss, after a run that missed a target). */
  readonly profScenario?: ScenarioName;
  readonly profShape: LoadShape;
  readonly profOnMiss: boolean;
}

export const USAGE = `usage: node dist/bench/perf/run-perf.js [--quick | --full] [options]
  --rounds N               rounds of every scenario × load shape (quick 2, full 5)
  --concurrency 1,16,64    closed-loop concurrencies (quick 64; full 1,16,64,256)
  --rates 2000,5000        open-loop rates in calls/s (quick 5000; full 2000,5000)
  --warmup-ms N            unmeasured warm-up per closed-loop run (quick 500, full 800)
  --open-warmup-ms N       unmeasured calls at the rate before each open-loop window (quick 300, full 2500)
  --open-burst-ms N        closed-loop burst before each open-loop schedule, to compile the hot code (quick 300, full 0)
  --duration-ms N          measured window per closed-loop run (quick 300, full 1200)
  --open-ms N              measured window per open-loop run (quick 300, full 3000)
  --scenarios a,b          subset of ${SCENARIOS.join(',')}
  --no-pin                 do not pin processes to cores with taskset
  --no-charts              skip the SVG charts
  --out DIR                where perf.md, perf.json and the charts go (default bench/results; quick: bench/results/quick)
  --prof-scenario NAME     only profile NAME's client (writes a .cpuprofile, prints top self time)
  --prof-shape c64|r5000   load shape of the profile (default c64: closed loop, concurrency 64)
  --prof-on-miss           after the run, profile mesh-full if a target was missed`;

function list(value: string | undefined, flag: string): number[] {
  const out = (value ?? '').split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`${flag} wants positive numbers separated by commas`);
  return out;
}

/** A warm-up or burst length: 0 turns it off. */
function lengthMs(value: string, flag: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} wants a length in ms (0 or more)`);
  return n;
}

export function parseShape(text: string): LoadShape {
  const m = /^([cr])(\d+)$/.exec(text);
  if (m === null) throw new Error(`a load shape is c<concurrency> or r<rate>, not "${text}"`);
  return m[1] === 'c' ? { kind: 'closed', concurrency: Number(m[2]) } : { kind: 'open', rate: Number(m[2]) };
}

export function shapeKey(shape: LoadShape): string {
  return shape.kind === 'closed' ? `c${shape.concurrency}` : `r${shape.rate}`;
}

/** How a run of `shape` warms up: a closed loop for warmupMs; an open loop for openWarmupMs in its schedule, after an optional burst. */
export function warmupOf(options: PerfOptions, shape: LoadShape): { warmupMs: number; burstMs?: number } {
  return shape.kind === 'closed' ? { warmupMs: options.warmupMs } : { warmupMs: options.openWarmupMs, burstMs: options.openBurstMs };
}

function scenarioName(s: string): ScenarioName {
  if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"; known: ${SCENARIOS.join(', ')}`);
  return s as ScenarioName;
}

export function parsePerfOptions(argv: readonly string[], defaultQuick: boolean): PerfOptions {
  const args = [...argv];
  const flags = new Map<string, string | true>();
  while (args.length > 0) {
    const a = args.shift()!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const takesValue = !['quick', 'full', 'no-pin', 'no-charts', 'prof-on-miss', 'help'].includes(name);
    flags.set(name, takesValue ? (inline ?? args.shift() ?? '') : true);
  }
  if (flags.has('help')) throw new Error(USAGE);
  const quick = flags.has('quick') ? true : flags.has('full') ? false : defaultQuick;
  const num = (name: string, fallback: number) => (flags.has(name) ? list(String(flags.get(name)), `--${name}`)[0]! : fallback);
  const ms = (name: string, fallback: number) => (flags.has(name) ? lengthMs(String(flags.get(name)), `--${name}`) : fallback);
  return {
    quick,
    rounds: num('rounds', quick ? 2 : 5),
    concurrencies: flags.has('concurrency') ? list(String(flags.get('concurrency')), '--concurrency') : quick ? [64] : [1, 16, 64, 256],
    rates: flags.has('rates') ? list(String(flags.get('rates')), '--rates') : quick ? [5000] : [2000, 5000],
    warmupMs: ms('warmup-ms', quick ? 500 : 800),
    // V8 was still compiling the client's hot code a second into the window after 800 ms at 2,000 calls/s.
    openWarmupMs: ms('open-warmup-ms', quick ? 300 : 2500),
    openBurstMs: ms('open-burst-ms', quick ? 300 : 0),
    closedMs: num('duration-ms', quick ? 300 : 1200),
    openMs: num('open-ms', quick ? 300 : 3000),
    scenarios: flags.has('scenarios') ? String(flags.get('scenarios')).split(',').map(scenarioName) : [...SCENARIOS],
    pin: !flags.has('no-pin'),
    charts: !flags.has('no-charts'),
    // A quick run must not overwrite the full run's results that the README shows.
    outDir: flags.has('out') ? path.resolve(String(flags.get('out'))) : path.resolve(__dirname, '../../../bench/results', quick ? 'quick' : '.'),
    ...(flags.has('prof-scenario') ? { profScenario: scenarioName(String(flags.get('prof-scenario'))) } : {}),
    profShape: parseShape(flags.has('prof-shape') ? String(flags.get('prof-shape')) : 'c64'),
    profOnMiss: flags.has('prof-on-miss'),
  };
}
