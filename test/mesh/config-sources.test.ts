// Mesh.start takes exactly one config source: two would mean one silently
// loses (a snapshot given with files was replaced by the first file edit).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh, MeshError, parseConfig } from 'meta-mesh';
import { meshYaml } from '../support/mesh-yaml';

describe('Mesh config sources', () => {
  it('refuses `config` and `snapshot` together, naming both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-sources-'));
    try {
      const file = path.join(dir, 'mesh.yaml');
      const text = meshYaml({ host: 'a.svc', port: 9090, endpoints: [{ port: 19090, version: 'v1' }] });
      fs.writeFileSync(file, text);
      await assert.rejects(
        Mesh.start({ config: file, snapshot: parseConfig([{ file: 'x.yaml', text }]), logger: () => undefined }),
        (err: unknown) => err instanceof MeshError && err.code === 'CONFIG' && /`config`/.test(err.message) && /`snapshot`/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
