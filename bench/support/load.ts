// Closed-loop load: `concurrency` workers each issue calls back to back until
// `total` calls are done; reports throughput and latency percentiles.
export interface LoadResult {
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly cpuUsPerCall: number;
}

export async function closedLoop(call: () => Promise<unknown>, concurrency: number, total: number): Promise<LoadResult> {
  const latencies = new Float64Array(total);
  let issued = 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (issued < total) {
      issued++;
      const start = performance.now();
      await call();
      latencies[done++] = performance.now() - start;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 1000;
  return {
    calls: done,
    seconds,
    callsPerSecond: done / seconds,
    p50Us: pct(0.5),
    p99Us: pct(0.99),
    cpuUsPerCall: (cpu.user + cpu.system) / done,
  };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median figures of several rounds of one scenario, with the throughput spread. */
export function summarize(rounds: readonly LoadResult[]): { callsPerSecond: number; p50Us: number; p99Us: number; cpuUsPerCall: number; spread: string } {
  const cps = rounds.map((r) => r.callsPerSecond);
  return {
    callsPerSecond: Math.round(median(cps)),
    p50Us: Math.round(median(rounds.map((r) => r.p50Us))),
    p99Us: Math.round(median(rounds.map((r) => r.p99Us))),
    cpuUsPerCall: Number(median(rounds.map((r) => r.cpuUsPerCall)).toFixed(1)),
    spread: `${Math.round(Math.min(...cps))}..${Math.round(Math.max(...cps))}`,
  };
}
