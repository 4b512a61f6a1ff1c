#!/usr/bin/env node
// The meta-mesh CLI:
//   meta-mesh control-plane --config <yaml...> [--port 15010] [--host 0.0.0.0] [--tls-cert f --tls-key f [--tls-ca f]]
//   meta-mesh validate <yaml...> [--regex-max-program-size 100]
//   meta-mesh dump --config <yaml...>        (the Envoy resources the YAML makes)
//   meta-mesh dump --admin <host:port>       (a running process's xDS state, over CSDS)
//   meta-mesh dump --xds <host:port> [--ads <host:port>] [--service <host:port>...] [--tls-ca f [--tls-cert f --tls-key f]]
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFiles, setRegexMaxProgramSize, snapshotToJSON } from '../lib/config';
import { MeshError } from '../lib/protocol';
import { ControlPlaneServer, XdsConfigSource, readClientStatus, resourcesFromSnapshot } from '../lib/xds';
import type { XdsTlsOptions } from '../lib/xds';

const USAGE = `usage:
  meta-mesh control-plane --config <yaml...> [--port 15010] [--host 0.0.0.0]
                          [--tls-cert <pem> --tls-key <pem> [--tls-ca <pem>]]
      serves MetaRDS + ADS; with --tls-cert/--tls-key over TLS, and with --tls-ca
      also requires client certificates signed by that CA (mutual TLS)
  meta-mesh validate <yaml...> [--regex-max-program-size 100]
  meta-mesh dump --config <yaml...>
  meta-mesh dump --admin <host:port> [--exclude-resources] [--wait-ms 5000]
      reads a running process's xDS state from its admin port (CSDS)
  meta-mesh dump --xds <host:port> [--ads <host:port>] [--service <host:port>...] [--wait-ms 10000]
                 [--tls-ca <pem> [--tls-cert <pem> --tls-key <pem>]]`;

/** Thrown for a bad command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

type Flags = Map<string, string[]>;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

const TLS_FLAGS: OptionSpec = { 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' } };

/** The flags each command takes; any other is an error naming it (util.parseArgs, strict). */
const COMMAND_FLAGS: Record<string, OptionSpec> = {
  'control-plane': { config: { type: 'string', multiple: true }, port: { type: 'string' }, host: { type: 'string' }, ...TLS_FLAGS },
  validate: { config: { type: 'string', multiple: true }, 'regex-max-program-size': { type: 'string' } },
  dump: {
    config: { type: 'string', multiple: true },
    admin: { type: 'string' },
    'exclude-resources': { type: 'boolean' },
    'wait-ms': { type: 'string' },
    xds: { type: 'string' },
    ads: { type: 'string' },
    service: { type: 'string', multiple: true },
    ...TLS_FLAGS,
  },
};

/**
 * `--name a b --other c` → {name: [a, b], other: [c]}: util.parseArgs in strict mode (an unknown flag, a
 * flag without its value or a value for a switch is a UsageError naming it), then words after a list flag
 * (--config, --service) are more of its values, as the usage shows; other words go under "".
 */
function parseFlags(command: string, args: readonly string[]): Flags {
  const spec = COMMAND_FLAGS[command] ?? {};
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options: spec, strict: true, allowPositionals: true, tokens: true }));
  } catch (err) {
    throw new UsageError(flagProblem(command, spec, err as Error & { code?: string }));
  }
  const flags: Flags = new Map([['', []]]);
  let list = '';
  for (const token of tokens) {
    if (token.kind === 'option') {
      const values = flags.get(token.name) ?? [];
      flags.set(token.name, values);
      if (token.value !== undefined) values.push(token.value);
      list = spec[token.name]?.multiple === true ? token.name : '';
    } else if (token.kind === 'positional') {
      flags.get(list)!.push(token.value);
    }
  }
  return flags;
}

/** parseArgs's error in this CLI's terms: which flag, for which command, and what it takes. */
function flagProblem(command: string, spec: OptionSpec, err: Error & { code?: string }): string {
  const known = Object.keys(spec).map((name) => `--${name}`).join(', ');
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag '${flag}' for ${command} (it takes ${known})`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return flag !== undefined && spec[flag.replace(/^-+/, '')]?.type === 'boolean' ? `${flag} takes no value` : `${flag ?? 'a flag'} needs a value`;
  }
  return err.message;
}

function one(flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/** The PEM file a --tls-* flag names, read now so a wrong path is reported as such. */
function pemFile(flags: Flags, name: string): Buffer | undefined {
  if (!flags.has(name)) return undefined;
  const file = one(flags, name);
  if (file === undefined) throw new UsageError(`--${name} needs a PEM file`);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`--${name} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`);
  }
}

function serverTls(flags: Flags): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  const cert = pemFile(flags, 'tls-cert');
  const key = pemFile(flags, 'tls-key');
  const ca = pemFile(flags, 'tls-ca');
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key (the server certificate and its key)');
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new UsageError('TLS needs both --tls-cert and --tls-key');
  return { cert, key, ...(ca === undefined ? {} : { ca }) };
}

function clientTls(flags: Flags): XdsTlsOptions | undefined {
  const ca = pemFile(flags, 'tls-ca');
  const cert = pemFile(flags, 'tls-cert');
  const key = pemFile(flags, 'tls-key');
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('mutual TLS needs both --tls-cert and --tls-key');
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

async function controlPlane(flags: Flags): Promise<number> {
  const config = flags.get('config') ?? [];
  if (config.length === 0) return usage('control-plane needs --config <yaml...>');
  const portText = one(flags, 'port') ?? '15010';
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) return usage(`--port must be a number from 0 to 65535 (0 picks a free one), not '${portText}'`);
  const tls = serverTls(flags);
  const cp = await ControlPlaneServer.start({ config, port, host: one(flags, 'host') ?? '0.0.0.0', tls, logger: (m) => console.error(m) });
  cp.on('nack', (typeUrl, message, node) => console.error(`NACK from ${node?.id ?? 'unknown node'} for ${typeUrl}: ${message}`));
  const security = tls === undefined ? 'plaintext' : tls.ca === undefined ? 'TLS' : 'mutual TLS';
  console.log(
    `meta-mesh control plane serving MetaRDS and ADS on port ${cp.port} over ${security} (routes ${cp.version('type.googleapis.com/envoy.config.route.v3.RouteConfiguration')})`,
  );
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
  const limit = one(flags, 'regex-max-program-size');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isSafeInteger(n) || n <= 0) return usage(`--regex-max-program-size must be a whole number above 0, not '${limit}'`);
    setRegexMaxProgramSize(n);
  }
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
  const admin = one(flags, 'admin');
  if (admin !== undefined) {
    const wait = Number(one(flags, 'wait-ms') ?? 5000);
    if (!(wait > 0)) return usage('--wait-ms must be a positive number of milliseconds');
    const status = await readClientStatus(admin, { timeoutMs: wait, excludeResourceContents: flags.has('exclude-resources') });
    console.log(JSON.stringify(status, null, 2));
    return 0;
  }
  const xds = one(flags, 'xds');
  if (xds === undefined) return usage('dump needs --config <yaml...>, --admin <host:port> or --xds <host:port>');
  const tls = clientTls(flags);
  let source: XdsConfigSource;
  try {
    source = await XdsConfigSource.start(
      {
        metaRds: xds,
        ads: one(flags, 'ads') ?? xds,
        services: flags.get('service') ?? [],
        waitForConfigMs: Number(one(flags, 'wait-ms') ?? 10_000),
        ...(tls === undefined ? {} : { tls }),
      },
      () => undefined,
    );
  } catch (err) {
    if (err instanceof MeshError) throw new MeshError(err.code, inFlagTerms(err.message), { cause: err, details: err.details });
    throw err;
  }
  try {
    console.log(JSON.stringify({ config: source.snapshot === undefined ? null : snapshotToJSON(source.snapshot), xds: source.dump() }, null, 2));
  } finally {
    source.close();
  }
  return 0;
}

/** The library's advice names options (xds.tls.cert); on the command line those are flags. */
function inFlagTerms(message: string): string {
  return message
    .replace(/set xds\.tls \(with ca\)/g, 'set --tls-ca')
    .replace(/remove xds\.tls\b(?!\.)/g, 'drop the --tls-* flags')
    .replace(/xds\.tls\.(ca|cert|key)\b/g, '--tls-$1')
    .replace(/xds\.waitForConfigMs/g, '--wait-ms');
}

function usage(problem?: string): number {
  if (problem !== undefined) console.error(`meta-mesh: ${problem}`);
  console.error(USAGE);
  return 2;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'control-plane':
      return controlPlane(parseFlags(command, rest));
    case 'validate':
      return validate(parseFlags(command, rest));
    case 'dump':
      return dump(parseFlags(command, rest));
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
    if (err instanceof UsageError) {
      process.exitCode = usage(err.message);
      return;
    }
    // ConfigError and other MeshErrors already say what to change.
    console.error(err instanceof MeshError ? err.message : `meta-mesh: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
