// Loading manifests from files and directories, in the order given.

import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFiles } from '../../lib/config';
import { EXTRA_SERVICES, THRIFT_DEMO } from './fixtures';
import { CALC, SERVICE, router } from './manifests';

describe('loadConfigFiles', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meta-mesh-config-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('merges a directory and a file into one snapshot', async () => {
    const snapshot = await loadConfigFiles([THRIFT_DEMO, EXTRA_SERVICES]);
    assert.deepEqual([...snapshot.services.keys()], [
      'thrift-sample-server.meta-thrift.svc.cluster.local:9090',
      'org.apache.dubbo.samples.basic.api.demoservice:20880',
      'redis.cache.svc.cluster.local:6379',
    ]);
    assert.equal(snapshot.routeConfigs.size, 3);
  });

  it('reads only *.yaml and *.yml files of a directory, sorted by name', async () => {
    // The router comes first by name but refers to the service declared in a later file.
    await writeFile(join(dir, 'a-router.yml'), router(`    - route:\n        - destination: {host: ${CALC}, subset: v2}\n`));
    await writeFile(join(dir, 'b-service.YAML'), SERVICE);
    await writeFile(join(dir, 'notes.txt'), 'not: [yaml');
    await mkdir(join(dir, 'nested.yaml'));
    const snapshot = await loadConfigFiles([dir], { version: '7' });
    assert.equal(snapshot.version, '7');
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9091`)?.routes[0]?.clusters, [{ cluster: `outbound|9091|v2|${CALC}`, weight: 1 }]);
  });

  it('reports files that cannot be read together with the problems of the others', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, router(`    - route:\n        - destination: {host: ${CALC}}\n`));
    const missing = join(dir, 'missing.yaml');
    await assert.rejects(loadConfigFiles([missing, bad]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => [p.file, p.field]), [
        [missing, ''],
        [bad, 'spec.routes[0].route[0].destination.host'],
      ]);
      assert.equal(err.problems[0]?.message, 'cannot read this path (ENOENT); check the path');
      assert.match(err.message, new RegExp(`\\n  ${missing}: cannot read this path \\(ENOENT\\); check the path\\n`));
      return true;
    });
  });

  it('warns about a directory with no manifests', async () => {
    const snapshot = await loadConfigFiles([dir]);
    assert.equal(snapshot.services.size, 0);
    assert.deepEqual(snapshot.warnings, [`${dir}: directory has no *.yaml or *.yml file`]);
  });

  it('numbers snapshots when no version is given', async () => {
    await writeFile(join(dir, 'calc.yaml'), SERVICE);
    const first = await loadConfigFiles([dir]);
    const second = await loadConfigFiles([dir]);
    assert.match(first.version, /^\d+$/);
    assert.equal(Number(second.version), Number(first.version) + 1);
  });
});
