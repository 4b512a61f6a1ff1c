// A meta-mesh Dubbo provider in its own process for bench/dubbo.bench.ts:
// sends its port over IPC and serves until its parent disconnects.
import { Mesh } from 'meta-mesh';
import { createDubboServer } from '../../adapters/dubbo';

async function main(): Promise<void> {
  const mesh = await Mesh.start();
  const server = createDubboServer(mesh, {
    services: { 'org.example.DemoService': { sayHello: (name: string) => `hello ${name}` } },
  });
  const port = await server.listen(0);
  process.send?.({ port });
  process.on('disconnect', () => void mesh.close());
}

void main();
