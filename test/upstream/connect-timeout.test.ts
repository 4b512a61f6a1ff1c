// Issue 15 item 3: the connect timeout is the snapshot in force's, at every
// connect; an endpoint that already has a host does not keep the old value.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as thrift from 'thrift';
import { loadConfigFiles, Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { oneEndpointYaml } from '../support/mesh-yaml';
import { startQuietMesh } from '../support/quiet-mesh';

/**
 * A port whose connects never complete: a listener with a one-slot backlog
 * that never accepts, its slot already taken, so the kernel drops new SYNs.
 */
async function blackhole(): Promise<{ port: number; close(): void }> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers: net.Socket[] = [];
  // Fill the accept queue until a connect stays pending.
  for (;;) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return {
    port,
    close: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

function yaml(port: number, connectTimeout: string): string {
  return oneEndpointYaml('calc.test.svc', port, `{ connectionPool: { tcp: { connectTimeout: ${connectTimeout} } } }`);
}

describe('Connect timeout', function () {
  this.timeout(20_000);
  let hole: Awaited<ReturnType<typeof blackhole>>;
  let mesh: Mesh | undefined;
  before(async () => {
    hole = await blackhole();
  });
  after(() => hole.close());
  afterEach(() => mesh?.close());

  it('follows the DestinationRule of the snapshot in force at each connect', async () => {
    const quiet = await startQuietMesh(yaml(hole.port, '150ms'));
    const file = quiet.file;
    mesh = quiet.mesh;
    const conn = createThriftConnection(mesh, 'calc.test.svc', 9090);
    const calc = thrift.createClient(Calculator, conn);
    await assert.rejects(calc.add(1, 2), /timed out after 150 ms/);
    fs.writeFileSync(file, yaml(hole.port, '400ms'));
    mesh.applySnapshot(await loadConfigFiles([file]));
    const started = performance.now();
    await assert.rejects(calc.add(1, 2), /timed out after 400 ms/);
    assert.ok(performance.now() - started >= 390, 'the new timeout was waited for');
    conn.end();
  });

  it('passthrough under ALLOW_ANY takes the mesh connectTimeoutMs instead of a fixed 10 s', async () => {
    mesh = await Mesh.start({ outboundTrafficPolicy: 'ALLOW_ANY', connectTimeoutMs: 120, preconnect: false, logger: () => undefined });
    const conn = createThriftConnection(mesh, '127.0.0.1', hole.port);
    const calc = thrift.createClient(Calculator, conn);
    await assert.rejects(calc.add(1, 2), /timed out after 120 ms/);
    conn.end();
  });
});
