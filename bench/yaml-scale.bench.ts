// YAML at scale (issue 22): Mesh.start and a reload of one file with
// SERVICES ServiceEntries of ENDPOINTS endpoints each, timed, with the
// longest and p99 gap of the event loop during each, and the heap the mesh
// holds per endpoint after full collections.
// Sizes: YAML_SCALE_SERVICES (100), YAML_SCALE_ENDPOINTS per service (100);
// issue 22's file is ENDPOINTS=1000 (5.5 MB).
// Run: node --expose-gc dist/bench/yaml-scale.bench.js (prints figures, asserts nothing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from '../lib';
import { LoopStalls, type StallFigures } from './support/loop-stalls';
import { runBench } from './support/run-bench';

const SERVICES = Number(process.env.YAML_SCALE_SERVICES ?? 100);
const ENDPOINTS = Number(process.env.YAML_SCALE_ENDPOINTS ?? 100);

function manifest(shift: number): string {
  let out = '';
  for (let i = 0; i < SERVICES; i++) {
    out += `---\napiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: svc${i}\n  namespace: scale\nspec:\n  hosts:\n  - svc${i}.scale.svc.cluster.local\n  ports:\n  - number: 9090\n    name: tcp-thrift\n    protocol: TCP\n  resolution: STATIC\n  endpoints:\n`;
    for (let j = 0; j < ENDPOINTS; j++) out += `  - address: 10.${i & 255}.${(j + shift) >> 8 & 255}.${(j + shift) & 255}\n    ports: {tcp-thrift: ${9090 + (i >> 8)}}\n    labels:\n      version: v${j % 2}\n`;
  }
  return out;
}

async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; stalls: StallFigures }> {
  const stalls = new LoopStalls().start();
  const t0 = performance.now();
  const value = await work();
  return { value, ms: performance.now() - t0, stalls: stalls.stop() };
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => (gc?.(), gc?.(), process.memoryUsage().heapUsed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yaml-scale-'));
  const file = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(file, manifest(0));
  const bytes = fs.statSync(file).size;
  const before = heap();
  const start = await measured(() => Mesh.start({ config: file, preconnect: false, logger: () => undefined }));
  const mesh = start.value;
  const endpoints = [...mesh.snapshot.clusters.values()].reduce((n, c) => n + c.endpoints.length, 0);
  const held = heap() - before;
  // One endpoint moved in every service, as a regenerated file would.
  fs.writeFileSync(file, manifest(1));
  const reload = await measured(() => mesh.reload());
  await mesh.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const f = (x: number) => x.toFixed(1);
  const p = (s: StallFigures) => `event-loop gap max ${f(s.maxMs)} ms, p99 ${f(s.p99Ms)} ms, ${s.over20} over 20 ms`;
  console.log(`yaml-scale: ${SERVICES} ServiceEntries x ${ENDPOINTS} endpoints = ${endpoints} endpoints, ${f(bytes / 1024 / 1024)} MB of YAML`);
  console.log(`  Mesh.start: ${f(start.ms)} ms, ${p(start.stalls)}`);
  console.log(`  reload: ${f(reload.ms)} ms, ${p(reload.stalls)}`);
  console.log(`  heap: ${f(held / 1024 / 1024)} MB, ${f(held / endpoints)} B per endpoint${gc ? '' : ' (run with --expose-gc for a clean figure)'}`);
}

runBench(module, main, { exit: true });
