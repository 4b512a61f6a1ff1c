// Starts and stops the Python Calculator server (Debian python3-thrift) for interop tests.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export interface PythonServer {
  readonly port: number;
  readonly events: string[];
  stop(): Promise<void>;
}

const root = path.resolve(__dirname, '../../..');

export function startPythonServer(transport: 'framed' | 'buffered' | 'header', protocol: 'binary' | 'compact', version: string): Promise<PythonServer> {
  const script = path.join(root, 'test/support/python/calc_server.py');
  const child: ChildProcess = spawn('/usr/bin/python3', [script, transport, protocol, version], {
    env: { ...process.env, PYTHONPATH: path.join(root, 'gen/calculator/py') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: string[] = [];
  let stderr = '';
  let exitedPromise: Promise<void> | undefined;
  // Kills the server once; every later stop() resolves on the same exit.
  const exitedOnce = (): Promise<void> =>
    (exitedPromise ??= new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGKILL');
    }));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python server did not start in 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python server exited with ${code}: ${stderr}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const ready = /^READY (\d+)$/.exec(line);
        if (ready !== null) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve({
            port: Number(ready[1]),
            events,
            stop: exitedOnce,
          });
        } else if (line.startsWith('EVENT ')) {
          events.push(line.slice(6));
        }
      }
    });
  });
}
