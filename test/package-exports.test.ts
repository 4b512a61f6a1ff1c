import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

describe('package entry points', () => {
  it('loads meta-mesh and meta-mesh/thrift with import', () => {
    const script = `import { Mesh, MeshError, RouteTable } from 'meta-mesh';
import { createThriftConnection, createThriftServer, createThriftCodec } from 'meta-mesh/thrift';
console.log([Mesh, MeshError, RouteTable, createThriftConnection, createThriftServer, createThriftCodec].map((x) => typeof x).join(','));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString().trim();
    assert.equal(out, 'function,function,function,function,function,function');
  });

  it('loads meta-mesh and meta-mesh/thrift with require', () => {
    const script = `const { Mesh } = require('meta-mesh'); const { createThriftConnection } = require('meta-mesh/thrift');
console.log(typeof Mesh.start + ',' + typeof createThriftConnection);`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root }).toString().trim();
    assert.equal(out, 'function,function');
  });
});
