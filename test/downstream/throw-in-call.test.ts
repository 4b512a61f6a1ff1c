// Issue 15 item 10: a synchronous throw (in an inbound filter, or in a
// promise-style Thrift handler) fails that one call with a readable message;
// the connection and every other call on it carry on.
import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh, type Filter } from 'meta-mesh';
import { createThriftConnection, createThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { DivideByZero } from '../../gen/calculator/js/calculator_types';

function client(port: number) {
  const conn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  conn.on('error', () => undefined);
  return { conn, closed, calc: thrift.createClient(Calculator, conn) };
}

describe('A throw inside a call', function () {
  this.timeout(20_000);
  let mesh: Mesh;
  afterEach(() => mesh.close());

  it('from an inbound filter fails only that call, and the connection stays up', async () => {
    const throwing: Filter = (next) => (call) => {
      if (call.metadata.get('method') === 'add') throw new Error('add is refused by a filter');
      return next(call);
    };
    mesh = await Mesh.start({ filters: { inbound: [throwing] } });
    const server = createThriftServer(mesh, Calculator, { add: (a: number, b: number) => a + b, echo: (t: string) => t });
    const { conn, closed, calc } = client(await server.listen(0));
    let hungUp = false;
    void closed.then(() => (hungUp = true));
    const [refused, echoed] = await Promise.allSettled([calc.add(1, 2), calc.echo('same socket')]);
    assert.equal(refused.status, 'rejected');
    assert.match(String((refused as PromiseRejectedResult).reason.message), /add is refused by a filter/);
    assert.deepEqual(echoed, { status: 'fulfilled', value: 'same socket' });
    assert.equal(await calc.echo('after'), 'after');
    assert.equal(hungUp, false);
    conn.end();
  });

  it('from an outbound filter fails only that call, and leaves no deadline behind', async () => {
    const serverMesh = await Mesh.start();
    const server = createThriftServer(serverMesh, Calculator, { add: (a: number, b: number) => a + b, echo: (t: string) => t });
    const port = await server.listen(0);
    const throwing: Filter = (next) => (call) => {
      if (call.metadata.get('method') === 'add') throw new Error('add is refused on the way out');
      return next(call);
    };
    mesh = await Mesh.start({ outboundTrafficPolicy: 'ALLOW_ANY', filters: { outbound: [throwing] }, logger: () => undefined });
    try {
      const calc = thrift.createClient(Calculator, createThriftConnection(mesh, '127.0.0.1', port));
      await assert.rejects(calc.add(1, 2), /add is refused on the way out/);
      assert.equal(await calc.echo('next call'), 'next call');
      assert.equal(mesh.liveCalls, 0);
    } finally {
      await serverMesh.close();
    }
  });

  it('from a promise-style handler answers that call like a rejection, with a readable message', async () => {
    mesh = await Mesh.start();
    const server = createThriftServer(mesh, Calculator, {
      divide: (a: number, b: number) => {
        if (b === 0) throw new DivideByZero({ message: `${a} / 0` });
        return Promise.resolve(a / b);
      },
      add: (_a: number, _b: number) => {
        throw { reason: 'not an Error', code: 42 };
      },
      echo: (t: string) => t,
    });
    const { conn, calc } = client(await server.listen(0));
    // A declared exception thrown synchronously reaches the caller as that exception, as when rejected.
    await assert.rejects(calc.divide(7, 0), (e: unknown) => e instanceof DivideByZero && (e as DivideByZero).message === '7 / 0');
    await assert.rejects(calc.add(1, 2), (e: Error) => !/\[object Object\]/.test(e.message) && /not an Error/.test(e.message) && /42/.test(e.message));
    assert.equal(await calc.echo('still here'), 'still here');
    conn.end();
  });
});
