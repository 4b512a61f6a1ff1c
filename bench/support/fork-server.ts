// Starts a benchmark server script in its own process (so client and server do
// not share an event loop) and waits for it to report its port over IPC.
import { fork, type ChildProcess } from 'node:child_process';

export function forkServer(script: string, args: readonly string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(script, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before reporting its port`)));
  });
}
