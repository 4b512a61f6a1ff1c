// A short run of every fuzz target (npm run fuzz runs a million inputs each):
// seeded, so a failure here reproduces with the same seed.
import assert from 'node:assert/strict';
import { FUZZ_TARGETS } from './fuzz-targets';
import { runTarget } from './run-fuzz';

describe('fuzz targets (short run)', function () {
  this.timeout(60_000);
  for (const target of FUZZ_TARGETS) {
    // The YAML loader is the slowest per input (a whole parse and translation).
    const inputs = target.name.startsWith('YAML') ? 300 : 2_000;
    it(`${target.name}: ${inputs} mutated inputs, no crash`, () => {
      const r = runTarget(target, inputs, 16);
      assert.deepEqual(r.findings, []);
      assert.equal(r.inputs, inputs);
    });
  }
});
