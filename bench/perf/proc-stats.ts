// CPU time and peak memory of processes the harness did not write in Node
// (HAProxy) or does not run in (the server), read from /proc so every process
// on a path is measured the same way.
import * as fs from 'node:fs';

/**
 * Run time in ns of each thread of `pid` (or of this process), by tid, from
 * /proc/<pid>/task/<tid>/schedstat; `missed` when some thread could not be
 * read (it ended, or the kernel has no schedstat). Undefined when the
 * process is gone.
 */
export function threadRunNs(pid: number | 'self'): { byTid: Map<string, number>; missed: boolean } | undefined {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const byTid = new Map<string, number>();
  let missed = false;
  for (const tid of tasks) {
    try {
      byTid.set(tid, Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      missed = true;
    }
  }
  return { byTid, missed };
}

/**
 * CPU time of all threads of `pid` in microseconds. schedstat counts
 * nanoseconds; /proc/<pid>/stat (10 ms ticks) is the fallback.
 */
export function cpuTimeUs(pid: number): number {
  const threads = threadRunNs(pid);
  if (threads === undefined) return NaN;
  if (threads.missed) return statCpuUs(pid);
  let totalNs = 0;
  for (const ns of threads.byTid.values()) totalNs += ns;
  return totalNs / 1000;
}

function statCpuUs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
  } catch {
    return NaN;
  }
}

/** Peak resident set (VmHWM) in KB. */
export function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** Resets VmHWM to the current RSS, so the next peak read covers one run only. False if the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Steal time of the whole machine in ms: time the hypervisor ran something
 * else while our virtual CPUs wanted to run (/proc/stat, USER_HZ ticks).
 * It arrives as stalls of milliseconds, far above what a path adds, so a
 * run's tail latency is read together with it.
 */
export function stealMs(): number {
  const f = cpuLine();
  return f === undefined ? NaN : f[8]! * 10;
}

/**
 * CPU time of every process on the machine but `exclude`, in µs, by pid
 * (/proc/<pid>/stat utime + stime: all threads, from the scheduler's exact
 * run time). The difference of two snapshots is what other programs and
 * kernel threads took during a run. /proc/stat's machine-wide counters would
 * be simpler but are sampled at the tick, and on this VM they miss most of a
 * process that runs in bursts shorter than a tick (the server's).
 */
export function otherProcessesCpuUs(exclude: ReadonlySet<number>): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    const pid = Number(d);
    if (exclude.has(pid)) continue;
    const us = statCpuUs(pid);
    if (Number.isFinite(us)) out.set(pid, us);
  }
  return out;
}

/** CPU ms that processes alive in both snapshots used between them. */
export function cpuBetweenMs(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let us = 0;
  for (const [pid, t] of after) {
    const t0 = before.get(pid);
    if (t0 !== undefined && t > t0) us += t - t0;
  }
  return us / 1000;
}

/** The fields of /proc/stat's first line ("cpu user nice system idle iowait irq softirq steal ...") as numbers. */
function cpuLine(): number[] | undefined {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
    return fields.length > 8 && fields.slice(1, 9).every(Number.isFinite) ? fields : undefined;
  } catch {
    return undefined;
  }
}
