// Duration strings as Istio writes them, converted to milliseconds.

import assert from 'node:assert/strict';
import { parseDuration } from '../../lib/config';
import { MeshError } from '../../lib/protocol';

describe('parseDuration', () => {
  it('reads milliseconds, seconds, minutes and hours', () => {
    assert.equal(parseDuration('500ms', 'timeout'), 500);
    assert.equal(parseDuration('1s', 'timeout'), 1000);
    assert.equal(parseDuration('1.5s', 'timeout'), 1500);
    assert.equal(parseDuration('2m', 'timeout'), 120_000);
    assert.equal(parseDuration('1h', 'timeout'), 3_600_000);
  });

  it('reads Go-style compounds, sub-millisecond units and a bare 0', () => {
    assert.equal(parseDuration('1m30s', 'x'), 90_000);
    assert.equal(parseDuration('1h2m3s4ms', 'x'), 3_723_004);
    assert.equal(parseDuration('250us', 'x'), 0.25);
    assert.equal(parseDuration('0', 'x'), 0);
    assert.equal(parseDuration('0s', 'x'), 0);
    assert.equal(parseDuration('.5s', 'x'), 500);
  });

  it('rejects junk with a CONFIG error naming the field and the expected form', () => {
    for (const junk of ['', '5', 's', '1.5', '-1s', '1d', '1 s', '1s ms', 'fast', '1e3s']) {
      assert.throws(
        () => parseDuration(junk, 'spec.routes[0].timeout'),
        (err: unknown) =>
          err instanceof MeshError &&
          err.code === 'CONFIG' &&
          err.message === `spec.routes[0].timeout: '${junk}' is not a duration; write a number with a unit, such as 500ms, 1s, 1.5s, 2m or 1h`,
        `accepted '${junk}'`,
      );
    }
  });

  it('rejects a value that is not a string', () => {
    assert.throws(() => parseDuration(5 as unknown as string, 'timeout'), /^MeshError: timeout: expected a duration string, got the number 5;/);
  });
});
