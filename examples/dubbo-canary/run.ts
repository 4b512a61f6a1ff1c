// The dubbo-canary demo: two DemoService provider versions built with
// createDubboServer, an apache-dubbo-js client put on meta-mesh, and a
// MetaRouter that routes by the `version` attachment, by method, and splits
// the rest 90/10. Prints where the calls went; needs no external service.
import * as path from 'node:path';
import { Dubbo, java } from 'apache-dubbo-js';
import { Mesh } from 'meta-mesh';
import { createDubboServer, getCallMetadata, meshDubbo, meshRegistry, shimNodeUtilForDubbo } from 'meta-mesh/dubbo';

const IFACE = 'org.apache.dubbo.samples.basic.api.DemoService';
const CALLS = Number(process.env.CALLS ?? 2000);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Setting } = require('apache-dubbo-js/es7/setting') as { Setting: new () => { match(i: string, s: object): never } };

// apache-dubbo-js calls util helpers Node 23 removed (a no-op on Node 20 and 22).
shimNodeUtilForDubbo();

type Counts = Record<string, number>;
type Demo = Record<'sayHello' | 'sayGoodbye', (name: string) => Promise<{ err: Error | null; res: unknown }>>;

async function startProvider(mesh: Mesh, version: string, port: number, counts: Counts): Promise<void> {
  const count = (method: string) => {
    const canary = getCallMetadata()?.get('x-canary') === 'true' ? '+canary' : '';
    const key = `${method}${canary}`;
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const server = createDubboServer(mesh, {
    services: {
      [IFACE]: {
        sayHello: (name: string) => (count('sayHello'), `hello ${name}, from ${version}`),
        sayGoodbye: (name: string) => (count('sayGoodbye'), `goodbye ${name}, from ${version}`),
      },
    },
  });
  await server.listen(port);
}

/** An ordinary apache-dubbo-js client; the only mesh-specific lines are `register` and `meshDubbo`. */
function demoClient(mesh: Mesh, version: string): Demo {
  const dubbo = new Dubbo({
    application: { name: 'canary-consumer' },
    register: meshRegistry(),
    dubboSetting: new Setting().match(IFACE, { version }),
    service: {
      demo: (d: Dubbo) =>
        d.proxyService({
          dubboInterface: IFACE,
          methods: { sayHello: (n: string) => [java.String(n)], sayGoodbye: (n: string) => [java.String(n)] },
        }),
    },
  });
  meshDubbo(dubbo, mesh);
  return (dubbo.service as unknown as Record<string, Demo>).demo!;
}

async function main(): Promise<void> {
  // The YAML sits beside this file's TypeScript source; the compiled file runs from dist/.
  const config = path.resolve(__dirname, '../../../examples/dubbo-canary/mesh.yaml');
  const mesh = await Mesh.start({ config });
  const counts: Record<string, Counts> = { v1: {}, v2: {} };
  await startProvider(mesh, 'v1', 20881, counts.v1!);
  await startProvider(mesh, 'v2', 20882, counts.v2!);

  const stable = demoClient(mesh, '1.0.0');
  const next = demoClient(mesh, '2.0.0');
  console.log((await stable.sayHello('dubbo')).res);
  console.log((await next.sayHello('dubbo')).res);

  for (const c of Object.values(counts)) for (const k of Object.keys(c)) delete c[k];
  const started = performance.now();
  const replies = await Promise.all(
    Array.from({ length: CALLS }, (_, i) => (i % 10 === 0 ? next.sayHello(`n${i}`) : i % 10 === 1 ? stable.sayGoodbye(`g${i}`) : stable.sayHello(`s${i}`))),
  );
  const ms = performance.now() - started;
  const failed = replies.filter((r) => r.err !== null).length;

  console.log(`\n${CALLS} calls in ${ms.toFixed(0)} ms (${failed} failed). Where they went:\n`);
  console.log('  call                        v1      v2');
  const rows = ['sayHello', 'sayHello+canary', 'sayGoodbye', 'sayGoodbye+canary'];
  for (const row of rows) {
    const v1 = counts.v1![row] ?? 0;
    const v2 = counts.v2![row] ?? 0;
    if (v1 + v2 > 0) console.log(`  ${row.padEnd(24)} ${String(v1).padStart(6)}  ${String(v2).padStart(6)}`);
  }
  console.log('\nversion 2.0.0 clients -> v2; sayGoodbye -> v2; other calls split 90/10 and tagged x-canary=true.');
  await mesh.close();
}

main().catch((err: unknown) => {
  console.error(err);
  // Servers and meshes started before the failure would keep the process alive: end it.
  process.exit(1);
});
