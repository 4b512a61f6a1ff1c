// Shared set-up for the Dubbo tests: meta-mesh Dubbo providers per version,
// mesh YAML with a dubbo ServiceEntry, and apache-dubbo-js clients on the mesh.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dubbo, java, type setting } from 'apache-dubbo-js';
import { Mesh } from 'meta-mesh';
import { createDubboServer, getCallMetadata, meshDubbo, meshRegistry, shimNodeUtilForDubbo, type DubboServer } from 'meta-mesh/dubbo';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const SettingClass = (require('apache-dubbo-js/es7/setting') as { Setting: new () => typeof setting }).Setting;

// apache-dubbo-js calls util helpers Node 23 removed (a no-op on Node 20 and 22).
shimNodeUtilForDubbo();

export const IFACE = 'org.example.DemoService';
export const HOST = IFACE.toLowerCase();
export const PORT = 20880;

export interface ProviderLog {
  calls: { method: string; attachments: Record<string, string> }[];
}

export interface Fleet {
  serverMesh: Mesh;
  servers: Record<string, DubboServer>;
  logs: Record<string, ProviderLog>;
  ports: Record<string, number>;
  close(): Promise<void>;
}

/** One Demo provider per version: sayHello, add, fail, nothing; each records the call and its attachments. */
export async function startFleet(versions: readonly string[]): Promise<Fleet> {
  const serverMesh = await Mesh.start();
  const servers: Record<string, DubboServer> = {};
  const logs: Record<string, ProviderLog> = {};
  const ports: Record<string, number> = {};
  for (const v of versions) {
    const log: ProviderLog = { calls: [] };
    const record = (method: string) => log.calls.push({ method, attachments: getCallMetadata()?.toJSON() ?? {} });
    logs[v] = log;
    servers[v] = createDubboServer(serverMesh, {
      services: {
        [IFACE]: {
          sayHello(name: string) {
            record('sayHello');
            return `hello ${name} from ${v}`;
          },
          async add(a: number, b: number) {
            record('add');
            return java.long(a + b);
          },
          fail(reason: string) {
            record('fail');
            throw new Error(`refused: ${reason}`);
          },
          nothing() {
            record('nothing');
            return null;
          },
        },
      },
    });
    ports[v] = await servers[v]!.listen(0);
  }
  return { serverMesh, servers, logs, ports, close: () => serverMesh.close() };
}

/** A ServiceEntry for the Demo interface (Aeraki style: host = interface name), a subset per version, and a MetaRouter. */
export function dubboMeshYaml(ports: Record<string, number>, routes?: string): string {
  const endpoints = Object.entries(ports)
    .map(([v, p]) => `    - address: 127.0.0.1\n      ports:\n        tcp-metaprotocol-dubbo: ${p}\n      labels:\n        version: ${v}`)
    .join('\n');
  const subsets = Object.keys(ports)
    .map((v) => `    - name: ${v}\n      labels:\n        version: ${v}`)
    .join('\n');
  let yaml = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: demo
spec:
  hosts: [${HOST}]
  ports:
    - number: ${PORT}
      name: tcp-metaprotocol-dubbo
      protocol: TCP
  resolution: STATIC
  endpoints:
${endpoints}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: demo
spec:
  host: ${HOST}
  subsets:
${subsets}
`;
  if (routes !== undefined) {
    yaml += `---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: demo
spec:
  hosts: [${HOST}]
  routes:
${routes}
`;
  }
  return yaml;
}

export async function clientMesh(ports: Record<string, number>, routes?: string): Promise<Mesh> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-dubbo-')), 'mesh.yaml');
  fs.writeFileSync(file, dubboMeshYaml(ports, routes));
  return Mesh.start({ config: file, watch: false, logger: () => undefined });
}

/** A destination block for a MetaRouter route. */
export function to(subset: string, weight?: number): string {
  return `        - destination:\n            host: ${HOST}\n            subset: ${subset}${weight === undefined ? '' : `\n          weight: ${weight}`}`;
}

export interface DemoService {
  sayHello(name: string): Promise<{ err: Error | null; res: string }>;
  add(a: number, b: number): Promise<{ err: Error | null; res: number }>;
  fail(reason: string): Promise<{ err: Error | null; res: unknown }>;
  nothing(): Promise<{ err: Error | null; res: unknown }>;
}

/** An apache-dubbo-js client of the Demo interface, as an application would write it, put on the mesh. */
export function demoClient(mesh: Mesh, version = '1.0.0', options?: Parameters<typeof meshDubbo>[2]): { dubbo: Dubbo; demo: DemoService } {
  const dubbo = new Dubbo({
    application: { name: 'demo-consumer' },
    register: meshRegistry(),
    // A Setting of its own: dubbo-js's exported `setting` is one process-wide instance.
    dubboSetting: new SettingClass().match(IFACE, { version }),
    service: {
      demo: (d: Dubbo) =>
        d.proxyService({
          dubboInterface: IFACE,
          methods: {
            sayHello: (name: string) => [java.String(name)],
            add: (a: number, b: number) => [java.int(a), java.int(b)],
            fail: (reason: string) => [java.String(reason)],
            nothing: () => [],
          },
        }),
    },
  });
  meshDubbo(dubbo, mesh, options);
  return { dubbo, demo: (dubbo.service as Record<string, unknown>).demo as DemoService };
}
