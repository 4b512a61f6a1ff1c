// Reads a V8 .cpuprofile and says where the client's time went: the top
// functions by self time, and self time grouped by where the code lives
// (meta-mesh lib, the thrift adapter, the thrift package, Node internals, GC).
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly name: string;
  readonly us: number;
  readonly share: number;
}

function where(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native/V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return `npm:${pkg[1]}`;
  if (url.includes('/dist/gen/')) return 'generated thrift code (gen/)';
  if (url.includes('/dist/bench/')) return 'bench harness (load loop)';
  const ours = /\/dist\/(lib\/[^/]+|adapters\/[^/]+)/.exec(url);
  if (ours !== null) return `meta-mesh ${ours[1]!.replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

function short(url: string): string {
  const i = url.lastIndexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const n = url.lastIndexOf('node_modules/');
  return n >= 0 ? url.slice(n + 13) : url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 20): { total: number; functions: SelfTime[]; groups: SelfTime[] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // A sample's time is the delta to the next sample; attribute it to the node sampled.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + delta);
  }
  const fns = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const name = `${functionName || '(anonymous)'} ${url === '' ? '' : `${short(url)}:${lineNumber + 1}`}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
    const g = where(url, functionName);
    groups.set(g, (groups.get(g) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, us, share: us / total }));
  return { total, functions: rank(fns, top), groups: rank(groups, 12) };
}

export function printProfileSummary(file: string, calls: number): void {
  const { total, functions, groups } = summarizeProfile(file);
  const line = (s: SelfTime) => `  ${(100 * s.share).toFixed(1).padStart(5)}%  ${(s.us / calls).toFixed(2).padStart(7)} µs/call  ${s.name}`;
  console.log(`\nbusy time ${(total / 1000).toFixed(0)} ms over ${calls} calls (${(total / calls).toFixed(1)} µs/call, idle excluded)`);
  console.log('\nself time by where the code lives:');
  for (const g of groups) console.log(line(g));
  console.log('\ntop functions by self time:');
  for (const f of functions) console.log(line(f));
}
