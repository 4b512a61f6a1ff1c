#!/usr/bin/env node
// The meta-mesh CLI:
//   meta-mesh control-plane --config <yaml...> [--port 15010] [--host 0.0.0.0]
//   meta-mesh validate <yaml...>
//   meta-mesh dump --config <yaml...>        (the Envoy resources the YAML makes)
//   meta-mesh dump --xds <host:port> [--ads <host:port>] [--service <host:port>...]
import { loadConfigFiles, snapshotToJSON } from '../lib/config';
import { MeshError } from '../lib/protocol';
import { ControlPlaneServer, XdsConfigSource, resourcesFromSnapshot } from '../lib/xds';

const USAGE = `usage:
  meta-mesh control-plane --config <yaml...> [--port 15010] [--host 0.0.0.0]
  meta-mesh validate <yaml...>
  meta-mesh dump --config <yaml...>
  meta-mesh dump --xds <host:port> [--ads <host:port>] [--service <host:port>...] [--wait-ms 10000]`;

type Flags = Map<string, string[]>;

/** `--name a b --other c` → {name: [a, b], other: [c]}; words before any flag go under "". */
function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = new Map([['', []]]);
  let at = '';
  for (const a of args) {
    if (a.startsWith('--')) {
      at = a.slice(2);
      if (!flags.has(at)) flags.set(at, []);
    } else {
      flags.get(at)!.push(a);
    }
  }
  return flags;
}

function one(flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

async function controlPlane(flags: Flags): Promise<number> {
  const config = flags.get('config') ?? [];
  if (config.length === 0) return usage('control-plane needs --config <yaml...>');
  const port = Number(one(flags, 'port') ?? 15010);
  const cp = await ControlPlaneServer.start({ config, port, host: one(flags, 'host') ?? '0.0.0.0', logger: (m) => console.error(m) });
  cp.on('nack', (typeUrl, message, node) => console.error(`NACK from ${node?.id ?? 'unknown node'} for ${typeUrl}: ${message}`));
  console.log(`meta-mesh control plane serving MetaRDS and ADS on port ${cp.port} (routes ${cp.version('type.googleapis.com/envoy.config.route.v3.RouteConfiguration')})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cp.close();
  return 0;
}

async function validate(flags: Flags): Promise<number> {
  const files = [...(flags.get('') ?? []), ...(flags.get('config') ?? [])];
  if (files.length === 0) return usage('validate needs at least one YAML file or directory');
  const snapshot = await loadConfigFiles(files);
  for (const w of snapshot.warnings) console.error(`warning: ${w}`);
  console.log(`ok: ${snapshot.services.size} services, ${snapshot.clusters.size} clusters, ${snapshot.routeConfigs.size} route configs`);
  return 0;
}

async function dump(flags: Flags): Promise<number> {
  const config = flags.get('config');
  if (config !== undefined && config.length > 0) {
    const snapshot = await loadConfigFiles(config);
    console.log(JSON.stringify({ config: snapshotToJSON(snapshot), resources: resourcesFromSnapshot(snapshot) }, null, 2));
    return 0;
  }
  const xds = one(flags, 'xds');
  if (xds === undefined) return usage('dump needs --config <yaml...> or --xds <host:port>');
  const source = await XdsConfigSource.start(
    { metaRds: xds, ads: one(flags, 'ads') ?? xds, services: flags.get('service') ?? [], waitForConfigMs: Number(one(flags, 'wait-ms') ?? 10_000) },
    () => undefined,
  );
  try {
    console.log(JSON.stringify({ config: source.snapshot === undefined ? null : snapshotToJSON(source.snapshot), xds: source.dump() }, null, 2));
  } finally {
    source.close();
  }
  return 0;
}

function usage(problem?: string): number {
  if (problem !== undefined) console.error(`meta-mesh: ${problem}`);
  console.error(USAGE);
  return 2;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest);
  switch (command) {
    case 'control-plane':
      return controlPlane(flags);
    case 'validate':
      return validate(flags);
    case 'dump':
      return dump(flags);
    case undefined:
    case 'help':
    case '--help':
      return usage();
    default:
      return usage(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // ConfigError and other MeshErrors already say what to change.
    console.error(err instanceof MeshError ? err.message : `meta-mesh: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
