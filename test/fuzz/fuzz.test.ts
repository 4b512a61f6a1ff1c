// A short run of every fuzz target (npm run fuzz runs a million inputs each):
// seeded, so a failure here reproduces with the same seed.
import assert from 'node:assert/strict';
import { FUZZ_TARGETS, yamlSeedsNow } from './fuzz-targets';
import { runTarget } from './run-fuzz';

describe('fuzz targets (short run)', function () {
  this.timeout(60_000);
  for (const target of FUZZ_TARGETS) {
    const inputs = 2_000;
    it(`${target.name}: ${inputs} mutated inputs, no crash`, () => {
      const r = runTarget(target, inputs, 16);
      assert.deepEqual(r.findings, []);
      assert.equal(r.inputs, inputs);
    });
  }

  it('YAML loader: mutating parsed documents leaves the seeds as they were, so a run reproduces', () => {
    runTarget(FUZZ_TARGETS.find((t) => t.name.startsWith('YAML'))!, 500, 3);
    const { used, fresh } = yamlSeedsNow();
    assert.ok(used.length > 5);
    assert.deepEqual(used, fresh);
  });
});
