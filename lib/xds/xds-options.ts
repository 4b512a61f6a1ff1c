// The options of XdsConfigSource and how they resolve against the bootstrap
// file and the environment into two stream targets, credentials and a node.
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { MeshError, MeshErrorCode } from '../protocol';
import type { BackoffOptions } from '../protocol/backoff';
import { Bootstrap, readBootstrap } from './bootstrap';
import type { NodeProto } from './envoy-types';
import { istioNodeId, uniqueNodeId } from './node-identity';
import { XDS_PROTOCOLS, type XdsProtocol } from './xds-stream';

export interface XdsTlsOptions {
  /** PEM text, or a path to a PEM file: the CA that signs the control plane's certificate (Istio's root-cert.pem). */
  ca?: string | Buffer | undefined;
  /** Client certificate and key for mutual TLS. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export interface XdsOptions {
  /** Aeraki's MetaRDS server, `host:port` (default: AERAKI_XDS_ADDR/AERAKI_XDS_PORT, else the ADS server). */
  metaRds?: string | undefined;
  /** istiod (or the istio-agent xDS proxy) for CDS and EDS, `host:port` (default: the bootstrap's first server, else metaRds). */
  ads?: string | undefined;
  /** Path of a gRPC xDS bootstrap file (default: GRPC_XDS_BOOTSTRAP). */
  bootstrap?: string | undefined;
  /** Node id; 'istio' = this pod's sidecar id; default: the bootstrap's, else an Istio-shaped id unique to this process. */
  nodeId?: string | undefined;
  /** TLS (and mTLS with cert+key) to both servers; plaintext when absent (Aeraki 1.4.x). */
  tls?: XdsTlsOptions | undefined;
  /** Route configs to ask for from the start, as `host:port` or `<host>_<port>`; none = every route config the server has. */
  services?: readonly string[] | undefined;
  /** start() rejects when no complete config arrived by then (default 30000). */
  waitForConfigMs?: number | undefined;
  /** When the control plane cannot be reached at start: 'error' rejects at once, 'wait' (default) retries until waitForConfigMs. */
  onControlPlaneDown?: 'error' | 'wait' | undefined;
  /** A file holding the last good config, used at start while the control plane is unreachable. */
  cacheFile?: string | undefined;
  /** A requested resource not delivered within this time counts as absent (default 15000, as gRPC). */
  resourceTimeoutMs?: number | undefined;
  backoff?: BackoffOptions | undefined;
  /**
   * 'auto' (default): incremental (delta) xDS, and state of the world from a server that answers the delta
   * stream with UNIMPLEMENTED. 'delta' or 'sotw' speak only that one.
   */
  protocol?: XdsProtocol | undefined;
  /**
   * Largest xDS message accepted, in bytes (default 32 MiB). A bigger one fails
   * the stream (RESOURCE_EXHAUSTED) and is retried with backoff; the last good config stays.
   */
  maxReceiveMessageBytes?: number | undefined;
  /**
   * A request the control plane must answer (a type's first on a stream, or
   * one asking for more names) that waits this long unanswered means the
   * stream was abandoned: it is opened again, with every subscription
   * (default 60000 ms). A quiet stream with nothing waiting stays open; gRPC
   * keepalive (every 30 s, 20 s to answer) finds dead connections.
   */
  streamWatchdogMs?: number | undefined;
  /**
   * Servers take their mTLS mode and authorization from the control plane (gRPC A36 xDS-enabled servers):
   * each server asks for the inbound listener named by this template, `%s` replaced by its `ip:port`
   * (default: the bootstrap's server_listener_resource_name_template; the istio-agent writes
   * `xds.istio.io/grpc/lds/inbound/%s`). Unset in both: servers use PeerAuthentication/AuthorizationPolicy YAML rules only.
   */
  serverListenerResourceNameTemplate?: string | undefined;
  /** Environment to read (default process.env); for tests. */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface ResolvedXdsOptions {
  readonly rdsTarget: string;
  readonly adsTarget: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly security: XdsSecurity;
  readonly node: NodeProto;
  readonly protocol: XdsProtocol;
  /** gRPC A36: the inbound listener name template, if servers are xDS-enabled. */
  readonly serverListenerTemplate?: string;
}

/** How the streams are secured and which setting chose that, so a failed handshake can name what to change. */
export interface XdsSecurity {
  readonly mode: 'plaintext' | 'tls' | 'mtls';
  readonly source: 'xds.tls' | 'bootstrap' | 'default';
}

const AERAKI_DEFAULT_PORT = '15010';

/**
 * Targets: explicit options first, then the bootstrap (its first server is
 * the ADS server), then AERAKI_XDS_ADDR/AERAKI_XDS_PORT (the MetaRDS server);
 * each side falls back to the other. Credentials: xds.tls, else the
 * bootstrap's channel_creds, else plaintext. Node: nodeId, else the
 * bootstrap's node, else an id unique to this process.
 */
export function resolveXdsOptions(options: XdsOptions): ResolvedXdsOptions {
  const env = options.env ?? process.env;
  const bootstrap = readBootstrap(options.bootstrap, env);
  const server = bootstrap?.xdsServers[0];
  const aeraki = aerakiTarget(env);
  const ads = options.ads ?? server?.serverUri ?? options.metaRds ?? aeraki;
  const rds = options.metaRds ?? aeraki ?? ads;
  if (rds === undefined || ads === undefined) {
    throw new MeshError(
      MeshErrorCode.CONFIG,
      'no xDS server to connect to; set xds.metaRds (Aeraki, e.g. aeraki.istio-system:15010) and xds.ads (istiod), or AERAKI_XDS_ADDR, or a GRPC_XDS_BOOTSTRAP file',
    );
  }
  const protocol = options.protocol ?? 'auto';
  if (!XDS_PROTOCOLS.includes(protocol)) {
    throw new MeshError(MeshErrorCode.CONFIG, `xds.protocol must be one of ${XDS_PROTOCOLS.map((p) => `'${p}'`).join(', ')}, not ${JSON.stringify(protocol)}`);
  }
  const { credentials, security } = credentialsFor(options.tls, bootstrap);
  return {
    protocol,
    rdsTarget: stripScheme(rds),
    adsTarget: stripScheme(ads),
    credentials,
    security,
    node: nodeFor(options.nodeId, bootstrap, env),
    ...serverListenerTemplateOf(options.serverListenerResourceNameTemplate ?? bootstrap?.serverListenerResourceNameTemplate),
  };
}

function serverListenerTemplateOf(template: string | undefined): Pick<ResolvedXdsOptions, 'serverListenerTemplate'> {
  if (template === undefined) return {};
  if (template === '') throw new MeshError(MeshErrorCode.CONFIG, 'xds.serverListenerResourceNameTemplate is empty; use e.g. xds.istio.io/grpc/lds/inbound/%s, or leave it unset');
  return { serverListenerTemplate: template };
}

/** AERAKI_XDS_ADDR and AERAKI_XDS_PORT, as Aeraki's flags spell them (the port may be ":15010"). */
function aerakiTarget(env: NodeJS.ProcessEnv): string | undefined {
  const addr = env.AERAKI_XDS_ADDR;
  if (addr === undefined || addr === '') return undefined;
  const port = (env.AERAKI_XDS_PORT ?? AERAKI_DEFAULT_PORT).replace(/^:/, '') || AERAKI_DEFAULT_PORT;
  return `${addr}:${port}`;
}

function stripScheme(target: string): string {
  return target.replace(/^(dns|xds|grpc|http|https):\/\/\/?/, '');
}

function credentialsFor(tls: XdsTlsOptions | undefined, bootstrap: Bootstrap | undefined): { credentials: grpc.ChannelCredentials; security: XdsSecurity } {
  if (tls !== undefined) {
    const cert = pem(tls.cert, 'xds.tls.cert');
    const key = pem(tls.key, 'xds.tls.key');
    if ((cert === null) !== (key === null)) {
      throw new MeshError(MeshErrorCode.CONFIG, 'xds.tls needs both cert and key for mutual TLS, or neither for server-only TLS');
    }
    const credentials = ssl(pem(tls.ca, 'xds.tls.ca'), key, cert, 'xds.tls');
    return { credentials, security: { mode: cert === null ? 'tls' : 'mtls', source: 'xds.tls' } };
  }
  const creds = bootstrap?.xdsServers[0]?.channelCreds;
  if (creds?.type === 'tls') {
    const c = creds.config ?? {};
    const file = (k: string): Buffer | null => (typeof c[k] === 'string' && c[k] !== '' ? pem(c[k] as string, `xDS bootstrap channel_creds ${k}`) : null);
    const cert = file('certificate_file');
    const key = file('private_key_file');
    if ((cert === null) !== (key === null)) {
      throw new MeshError(
        MeshErrorCode.CONFIG,
        'xDS bootstrap channel_creds tls needs both certificate_file and private_key_file for mutual TLS, or neither for server-only TLS',
      );
    }
    const credentials = ssl(file('ca_certificate_file'), key, cert, 'the xDS bootstrap channel_creds tls config');
    return { credentials, security: { mode: cert === null ? 'tls' : 'mtls', source: 'bootstrap' } };
  }
  if (creds?.type === 'google_default') return { credentials: grpc.credentials.createSsl(), security: { mode: 'tls', source: 'bootstrap' } };
  return { credentials: grpc.credentials.createInsecure(), security: { mode: 'plaintext', source: bootstrap === undefined ? 'default' : 'bootstrap' } };
}

/** grpc-js builds the TLS context here and throws OpenSSL's words (e.g. "key values mismatch"); say which setting they are about. */
function ssl(ca: Buffer | null, key: Buffer | null, cert: Buffer | null, what: string): grpc.ChannelCredentials {
  try {
    return grpc.credentials.createSsl(ca, key, cert);
  } catch (err) {
    throw new MeshError(
      MeshErrorCode.CONFIG,
      `${what}: the CA, certificate or key cannot be used (${(err as Error).message}); give PEM files, with the private key that belongs to the certificate`,
      { cause: err },
    );
  }
}

/** PEM text as given, or the content of the file it names. */
function pem(value: string | Buffer | undefined, what: string): Buffer | null {
  if (value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  try {
    return fs.readFileSync(value);
  } catch (err) {
    throw new MeshError(MeshErrorCode.CONFIG, `${what}: cannot read ${value} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give PEM text or a readable file path`);
  }
}

function nodeFor(nodeId: string | undefined, bootstrap: Bootstrap | undefined, env: NodeJS.ProcessEnv): NodeProto {
  const base: NodeProto = { ...(bootstrap?.node ?? {}) };
  base.id = nodeId === 'istio' ? istioNodeId({ vars: env }) : (nodeId ?? bootstrap?.node?.id ?? uniqueNodeId({ vars: env }));
  base.user_agent_name = 'meta-mesh';
  base.user_agent_version = userAgentVersion();
  base.client_features = ['envoy.lb.does_not_support_overprovisioning'];
  return base;
}

function userAgentVersion(): string {
  // Built code runs from dist/lib/xds, source from lib/xds.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json from either build layout
      return (require(rel) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
