// The thrift-canary demo with a control plane: meta-mesh's local control plane
// serves the same YAML over MetaRDS + ADS (as Aeraki and istiod would), the
// client mesh subscribes to it, and a route change is pushed while traffic
// runs. Run with `npm run demo:xds`; no external service is needed.
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh, type RouteConfig, type Snapshot } from 'meta-mesh';
import { ControlPlaneServer } from 'meta-mesh/control-plane';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { newServerLog, startCalculatorServer } from './servers';

const HOST = 'calculator.demo.svc.cluster.local';
const ROUTES = `${HOST}_9090`;

/** The same config with the canary route's split changed to `v1`/`v2` percent. */
function withSplit(snapshot: Snapshot, v1: number, v2: number): Snapshot {
  const config = snapshot.routeConfigs.get(ROUTES)!;
  const routes = config.routes.map((r) =>
    r.name !== 'canary' ? r : { ...r, clusters: [{ cluster: `outbound|9090|v1|${HOST}`, weight: v1 }, { cluster: `outbound|9090|v2|${HOST}`, weight: v2 }] },
  );
  const routeConfigs = new Map<string, RouteConfig>(snapshot.routeConfigs);
  routeConfigs.set(ROUTES, { ...config, routes });
  return { ...snapshot, version: `${snapshot.version}-split-${v1}-${v2}`, routeConfigs };
}

async function main(): Promise<void> {
  // MESH_CONFIG, V1_PORT and V2_PORT let tests run the demo on free ports with their own copy of the YAML.
  const config = process.env.MESH_CONFIG ?? path.resolve(__dirname, '../../../examples/thrift-canary/mesh.yaml');
  const cp = await ControlPlaneServer.start({ config, port: 0, host: '127.0.0.1', watch: false, logger: () => undefined });
  const address = `127.0.0.1:${cp.port}`;
  console.log(`control plane serving MetaRDS + ADS on ${address}`);

  const servers = await Mesh.start();
  const logs = { v1: newServerLog(), v2: newServerLog() };
  await startCalculatorServer(servers, 'v1', Number(process.env.V1_PORT ?? 19091), logs.v1);
  await startCalculatorServer(servers, 'v2', Number(process.env.V2_PORT ?? 19092), logs.v2);

  const mesh = await Mesh.start({ xds: { metaRds: address, ads: address, services: [`${HOST}:9090`] } });
  const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090));

  const phase = async (label: string, calls: number, during?: () => void): Promise<void> => {
    const before = { v1: logs.v1.calls.version ?? 0, v2: logs.v2.calls.version ?? 0 };
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < calls) {
        if (next++ === calls / 2) during?.();
        await client.version().catch(() => failed++);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const v1 = (logs.v1.calls.version ?? 0) - before.v1;
    const v2 = (logs.v2.calls.version ?? 0) - before.v2;
    console.log(`  ${label.padEnd(44)} v1 ${String(v1).padStart(5)}   v2 ${String(v2).padStart(5)}   failed ${failed}`);
  };

  console.log('\nversion() calls through the canary route:');
  await phase('routes from the control plane (80/20)', 2000);
  const pushed = new Promise((resolve) => mesh.once('config', resolve));
  await phase('50/50 pushed halfway through these calls', 2000, () => cp.setSnapshot(withSplit(cp.snapshot!, 50, 50)));
  await pushed;
  await phase('after the push (50/50)', 2000);
  console.log(`\nclient config version: ${mesh.snapshot.version}; no call failed while the routes changed under it.`);

  await mesh.close();
  await servers.close();
  await cp.close();
}

main().catch((err: unknown) => {
  console.error(err);
  // Servers and meshes started before the failure would keep the process alive: end it.
  process.exit(1);
});
