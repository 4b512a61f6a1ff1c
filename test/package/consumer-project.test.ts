// The package as a user gets it: `npm pack`, unpacked into a fresh project
// that has only meta-mesh (with its dependencies), thrift and typescript; the
// README's Thrift quick start compiled with strict, exactOptionalPropertyTypes,
// noUncheckedIndexedAccess and skipLibCheck false under
// moduleResolution node16 and bundler, run against a real thrift server, and
// the package imported from an ES module.
// Offline: npm packs the tarball; the project's node_modules is the tarball
// unpacked plus links to the packages npm would have installed beside it (the
// dependencies of the packed package.json, thrift, typescript), taken from this
// repository's node_modules. apache-dubbo-js, hessian.js and ioredis are not
// there, as in a Thrift-only application.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';

const root = path.resolve(__dirname, '../../..');

/** The README's Thrift quick start: the first ```ts block after "## Quick start (Thrift)". */
function readmeQuickStart(): { imports: string[]; body: string[] } {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start (Thrift)'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README has no Thrift quick start block');
  const lines = block[1]!.split('\n');
  return { imports: lines.filter((l) => l.startsWith('import ')), body: lines.filter((l) => !l.startsWith('import ')) };
}

/** `names` and everything they depend on, as npm hoists them to the top of node_modules. */
function installedClosure(names: readonly string[]): Set<string> {
  const out = new Set<string>();
  const queue = [...names];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (out.has(name)) continue;
    const manifest = path.join(root, 'node_modules', name, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    out.add(name);
    queue.push(...Object.keys((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {}));
  }
  return out;
}

function tsconfig(resolution: 'node16' | 'bundler'): object {
  return {
    compilerOptions: {
      target: 'ES2022',
      module: resolution === 'node16' ? 'node16' : 'preserve',
      moduleResolution: resolution,
      strict: true,
      // Users on the stricter flags compile against our .d.ts files too.
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      // node16 emits quickstart.js beside the source, where ./gen-nodejs resolves; bundler output is for a bundler.
      ...(resolution === 'bundler' ? { noEmit: true } : {}),
    },
    files: ['quickstart.ts'],
  };
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the packed package in a fresh TypeScript project (README quick start)', function () {
  this.timeout(240_000);
  let dir: string;
  let app: string;
  let server: ReturnType<typeof thrift.createServer>;
  const seen: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-consumer-'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }).toString()) as { filename: string }[];
    app = path.join(dir, 'app');
    const modules = path.join(app, 'node_modules');
    fs.mkdirSync(modules, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(dir, packed[0]!.filename), '-C', modules]);
    fs.renameSync(path.join(modules, 'package'), path.join(modules, 'meta-mesh'));
    const manifest = JSON.parse(fs.readFileSync(path.join(modules, 'meta-mesh', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of installedClosure([...Object.keys(manifest.dependencies), 'thrift', 'typescript'])) {
      fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
      fs.symlinkSync(path.join(root, 'node_modules', name), path.join(modules, name), 'dir');
    }
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    fs.cpSync(path.join(root, 'gen/calculator/js'), path.join(app, 'gen-nodejs'), { recursive: true });
    const quick = readmeQuickStart();
    fs.writeFileSync(
      path.join(app, 'quickstart.ts'),
      `${quick.imports.join('\n')}\n\nasync function main(): Promise<void> {\n${quick.body.map((l) => `  ${l}`).join('\n')}\n}\n\nmain().catch((err: unknown) => {\n  console.error(err);\n  process.exitCode = 1;\n});\n`,
    );
    fs.writeFileSync(path.join(app, 'tsconfig.node16.json'), JSON.stringify(tsconfig('node16')));
    fs.writeFileSync(path.join(app, 'tsconfig.bundler.json'), JSON.stringify(tsconfig('bundler')));
    fs.writeFileSync(
      path.join(app, 'quickstart.mjs'),
      `import thrift from 'thrift';
import { createRequire } from 'node:module';
import { Mesh, MeshError } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
const Calculator = createRequire(import.meta.url)('./gen-nodejs/Calculator.js');
const mesh = await Mesh.start({ config: 'mesh.yaml' });
const conn = createThriftConnection(mesh, 'calculator.demo.svc.cluster.local', 9090, { transport: 'framed' });
const client = thrift.createClient(Calculator, conn);
const sum = await client.add(40, 2);
await mesh.close();
console.log(JSON.stringify({ sum, meshError: typeof MeshError }));
`,
    );
    server = thrift.createServer(
      Calculator,
      {
        add: (a: number, b: number) => (seen.push(`add ${a} ${b}`), a + b),
        version: () => (seen.push('version'), 'v1'),
      } as never,
      { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol },
    );
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server as unknown as { address(): { port: number } }).address().port;
    fs.writeFileSync(
      path.join(app, 'mesh.yaml'),
      `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: calculator, namespace: demo }
spec:
  hosts: [calculator.demo.svc.cluster.local]
  ports: [{ number: 9090, name: tcp-metaprotocol-thrift, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp-metaprotocol-thrift: ${port} } }]
`,
    );
  });

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const tsc = (): string => path.join(app, 'node_modules', 'typescript', 'bin', 'tsc');

  it('compiles the quick start under moduleResolution bundler (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck false)', async () => {
    const r = await run(process.execPath, [tsc(), '-p', 'tsconfig.bundler.json'], app);
    assert.equal(r.code, 0, r.out);
  });

  it('compiles the quick start under moduleResolution node16 (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck false) and runs it against a thrift server', async () => {
    const built = await run(process.execPath, [tsc(), '-p', 'tsconfig.node16.json'], app);
    assert.equal(built.code, 0, built.out);
    seen.length = 0;
    const ran = await run(process.execPath, ['quickstart.js'], app);
    assert.equal(ran.code, 0, ran.out);
    assert.deepEqual(seen, ['add 1 2', 'version']);
  });

  it('imports meta-mesh and meta-mesh/thrift from an ES module and makes a call', async () => {
    const ran = await run(process.execPath, ['quickstart.mjs'], app);
    assert.equal(ran.code, 0, ran.out);
    assert.deepEqual(JSON.parse(ran.out.trim()), { sum: 42, meshError: 'function' });
  });
});
