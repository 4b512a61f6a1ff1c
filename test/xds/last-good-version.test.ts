// The last-good cache records the newest version by receipt: xDS versions are
// opaque strings, so "10" after "9" is newer although it sorts first.
import assert from 'node:assert/strict';
import { ResourceStore } from '../../lib/xds/resource-store';

describe('last good version', () => {
  it('is the version of the last update accepted, not the greatest string', () => {
    const store = new ResourceStore<object, object>(() => 0);
    store.accept('a', {}, undefined, {}, '9');
    store.accept('b', {}, undefined, {}, '10');
    assert.equal(store.lastVersion, '10');
    store.accept('a', {}, undefined, {}, '2026-12-07T10:00:00Z/3');
    assert.equal(store.lastVersion, '2026-12-07T10:00:00Z/3');
  });
});
