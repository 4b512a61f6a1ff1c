// `npm run bench`: runs every bench/*.bench.js in its own process, one after
// the other (so they do not compete for the 2 cores), and prints their output.
// `npm run bench -- --quick` asks each benchmark for a shorter run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.js$/, '')} ===`);
  const r = spawnSync(process.execPath, [path.join(__dirname, file)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_QUICK: quick ? '1' : '' },
  });
  if (r.status !== 0) {
    failed++;
    console.log(`${file} exited with ${r.status}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
