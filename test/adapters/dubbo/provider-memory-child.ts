// A Dubbo provider in a process of its own, for provider-memory.test.ts: it
// serves `echo(String)` (the reply is as large as the request) and, over IPC,
// reports its memory after a gc and its peak RSS, so the test can see what
// large requests cost the provider and nothing else.
import { Mesh } from 'meta-mesh';
import { createDubboServer } from 'meta-mesh/dubbo';

export interface ProviderMemory {
  readonly rss: number;
  readonly maxRss: number;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
}

function memory(): ProviderMemory {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, maxRss: process.resourceUsage().maxRSS * 1024, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/** Grows V8's young generation to its full size first, so the test sees what requests cost and not that one-time growth. */
function warmUp(): void {
  let keep: string[] = [];
  for (let i = 0; i < 4000; i++) {
    keep.push(`${i}`.padEnd(32 * 1024, 'w'));
    if (keep.length > 64) keep = [];
  }
}

async function main(): Promise<void> {
  warmUp();
  const mesh = await Mesh.start();
  const server = createDubboServer(mesh, {
    services: { 'org.example.EchoService': { echo: (s: string) => s, size: (s: string) => s.length } },
  });
  const port = await server.listen(0);
  process.on('message', (msg: unknown) => {
    // Collected twice a turn apart: array buffers are freed after the collection that finds them dead.
    if (msg === 'memory') setImmediate(() => {
      memory();
      setImmediate(() => process.send!({ memory: memory() }));
    });
    else if (msg === 'close') void mesh.close().then(() => process.exit(0));
  });
  process.send!({ port });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
