// Every child process the harness starts (server, proxies, client workers) is
// registered here, so none outlives the harness: on exit they are killed, and
// Ctrl-C or SIGTERM goes through that exit path.
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`perf: ${signal}, stopping the server and proxies`);
      process.exit(130);
    });
  }
}

/** Tracks a child so it is killed if the harness exits first. */
export function track<T extends ChildProcess>(child: T): T {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
