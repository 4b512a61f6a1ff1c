// The published surface: what each entry point exports, what it loads, what a
// missing optional peer says, and that the checked-in API report is current.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

function node(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env } }).toString().trim();
}

/** The npm packages a fresh process has loaded after requiring `entry`. */
function packagesLoadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)});
const names = new Set();
for (const file of Object.keys(require.cache)) {
  const m = file.match(/node_modules[\\\\/]((@[^\\\\/]+[\\\\/])?[^\\\\/]+)/);
  if (m) names.add(m[1].replace(/\\\\/g, '/'));
}
console.log(JSON.stringify([...names].sort()));`;
  return JSON.parse(node(['-e', script])) as string[];
}

describe('package entry points', () => {
  it('loads meta-mesh and meta-mesh/thrift with import', () => {
    const script = `import { Mesh, MeshError } from 'meta-mesh';
import { RouteTable } from 'meta-mesh/experimental';
import { createThriftConnection, createThriftServer, createThriftCodec } from 'meta-mesh/thrift';
console.log([Mesh, MeshError, RouteTable, createThriftConnection, createThriftServer, createThriftCodec].map((x) => typeof x).join(','));`;
    assert.equal(node(['--input-type=module', '-e', script]), 'function,function,function,function,function,function');
  });

  it('loads meta-mesh and meta-mesh/thrift with require', () => {
    const script = `const { Mesh } = require('meta-mesh'); const { createThriftConnection } = require('meta-mesh/thrift');
console.log(typeof Mesh.start + ',' + typeof createThriftConnection);`;
    assert.equal(node(['-e', script]), 'function,function');
  });

  it('keeps internals out of the root: they are in meta-mesh/experimental or meta-mesh/control-plane', () => {
    const script = `const root = require('meta-mesh'); const exp = require('meta-mesh/experimental'); const cp = require('meta-mesh/control-plane');
console.log(JSON.stringify({ root: Object.keys(root).sort(), exp: ['UpstreamPool', 'ClusterResilience', 'FaultInjector', 'RouteTable', 'Cluster', 'InboundServer'].filter((n) => n in exp), cp: ['ControlPlaneServer', 'XdsConfigSource', 'TYPE_CDS'].filter((n) => n in cp) }));`;
    const out = JSON.parse(node(['-e', script])) as { root: string[]; exp: string[]; cp: string[] };
    for (const internal of ['UpstreamPool', 'ClusterResilience', 'FaultInjector', 'Backoff', 'TYPE_CDS', 'Cluster', 'ControlPlaneServer', 'RouteTable']) {
      assert.ok(!out.root.includes(internal), `the root exports ${internal}`);
    }
    for (const stable of ['Mesh', 'MeshError', 'MeshErrorCode', 'Metadata', 'parseConfig', 'loadConfigFiles', 'ConfigError', 'createRateLimitFilter', 'createTracingFilter', 'createMetricsFilter', 'createAccessLogFilter', 'LocalRateLimiter', 'RlsRateLimiter', 'TokenBucket']) {
      assert.ok(out.root.includes(stable), `the root lacks ${stable}`);
    }
    assert.equal(out.exp.length, 6, `experimental has ${out.exp.join(', ')}`);
    assert.equal(out.cp.length, 3, `control-plane has ${out.cp.join(', ')}`);
  });

  it('loads neither xDS (grpc-js, protobufjs) nor any protocol library with the root', () => {
    const loaded = packagesLoadedBy('meta-mesh');
    for (const heavy of ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'ioredis', 'thrift', 'apache-dubbo-js', 'hessian.js']) {
      assert.ok(!loaded.includes(heavy), `require('meta-mesh') loaded ${heavy}`);
    }
  });

  it('loads only thrift (and its own dependencies) with meta-mesh/thrift', () => {
    const loaded = packagesLoadedBy('meta-mesh/thrift');
    assert.ok(loaded.includes('thrift'));
    for (const other of ['@grpc/grpc-js', 'protobufjs', 'ioredis', 'apache-dubbo-js', 'hessian.js', 'yaml', 'opossum', 'bottleneck']) {
      assert.ok(!loaded.includes(other), `require('meta-mesh/thrift') loaded ${other}`);
    }
  });

  it('loads grpc-js when the control plane is imported', () => {
    assert.ok(packagesLoadedBy('meta-mesh/control-plane').includes('@grpc/grpc-js'));
  });

  describe('optional peer dependencies', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-peers-'));
      // A preload that makes the named packages unresolvable, as in an application that did not install them.
      fs.writeFileSync(
        path.join(dir, 'hide.js'),
        `const Module = require('module'); const hidden = (process.env.HIDE || '').split(',');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.includes(request) || hidden.some((h) => request.startsWith(h + '/'))) { const e = new Error("Cannot find module '" + request + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};`,
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    function requireWithout(entry: string, hidden: string[]): { status: number | null; stderr: string } {
      const r = spawnSync(process.execPath, ['-r', path.join(dir, 'hide.js'), '-e', `require(${JSON.stringify(entry)})`], {
        cwd: root,
        env: { ...process.env, HIDE: hidden.join(',') },
      });
      return { status: r.status, stderr: r.stderr.toString() };
    }

    for (const [entry, peers] of [
      ['meta-mesh/thrift', ['thrift']],
      ['meta-mesh/dubbo', ['apache-dubbo-js', 'hessian.js']],
      ['meta-mesh/redis', ['ioredis']],
    ] as const) {
      it(`${entry} without ${peers.join(' and ')} says which package to install`, () => {
        const r = requireWithout(entry, [...peers]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`${entry} needs the optional peer dependenc`));
        assert.match(r.stderr, new RegExp(`npm install ${peers.join(' ')}`));
      });
    }

    it('the root and meta-mesh/thrift work with no Dubbo or Redis library installed', () => {
      const r = requireWithout('meta-mesh/thrift', ['apache-dubbo-js', 'hessian.js', 'ioredis']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(requireWithout('meta-mesh', ['thrift', 'apache-dubbo-js', 'hessian.js', 'ioredis']).status, 0);
    });
  });

  it('importing meta-mesh/dubbo leaves node:util alone; shimNodeUtilForDubbo is the explicit call', () => {
    // Node 23+ has no util.isString; take it away here too, to see what the adapter does on such a Node.
    const script = `const util = require('node:util'); delete util.isString;
const dubbo = require('meta-mesh/dubbo');
const untouched = typeof util.isString === 'undefined';
let refused = '';
try { dubbo.meshRegistry(); } catch (e) { refused = e.code + ': ' + e.message; }
dubbo.shimNodeUtilForDubbo();
console.log(JSON.stringify({ untouched, refused, shimmed: util.isString('x') === true && util.isString(1) === false, registry: typeof dubbo.meshRegistry() }));`;
    const out = JSON.parse(node(['-e', script])) as { untouched: boolean; refused: string; shimmed: boolean; registry: string };
    assert.equal(out.untouched, true);
    assert.match(out.refused, /^CONFIG: .*call shimNodeUtilForDubbo\(\)/);
    assert.equal(out.shimmed, true);
    assert.equal(out.registry, 'function');
  });

  it('the checked-in API report (api/*.api.md) matches the built .d.ts files', function () {
    // It compiles the declarations of every entry point: about 10 s quiet, over 30 s at load 13.
    this.timeout(120_000);
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/api-report.js'), '--check'], { cwd: root });
    assert.equal(r.status, 0, r.stderr.toString());
  });
});
