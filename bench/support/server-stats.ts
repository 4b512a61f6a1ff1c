// Asks a benchmark server forked with forkServer for its own figures over IPC:
// the CPU time its process has used (user + system, µs) and, for TLS servers,
// the handshakes it has completed and how many of them resumed a session.
// The servers answer the 'stats' message (see answerStats).
import type { ChildProcess } from 'node:child_process';

export interface ServerStats {
  readonly cpuUs: number;
  readonly handshakes: number;
  readonly resumed: number;
}

export function serverStats(child: ChildProcess): Promise<ServerStats> {
  return new Promise((resolve) => {
    const onMessage = (m: { stats?: ServerStats }): void => {
      if (m.stats === undefined) return;
      child.off('message', onMessage);
      resolve(m.stats);
    };
    child.on('message', onMessage);
    child.send('stats');
  });
}

/** In a server process: answers 'stats' with `counts()` and the process's CPU time. */
export function answerStats(counts: () => { handshakes: number; resumed: number } = () => ({ handshakes: 0, resumed: 0 })): void {
  process.on('message', (m) => {
    if (m !== 'stats') return;
    const cpu = process.cpuUsage();
    process.send?.({ stats: { cpuUs: cpu.user + cpu.system, ...counts() } });
  });
}
