// The four paths the perf harness compares, and the one place that says how
// each is built: the mesh config files and Mesh.start options of the two
// meta-mesh scenarios (the clients themselves are in scenario-client.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRateLimitFilter, LocalRateLimiter, type Filter, type MeshOptions } from 'meta-mesh';
import { otelMetricsFilter } from './otel-metrics-filter';

export const SCENARIOS = ['raw', 'mesh-static', 'mesh-full', 'two-hop'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const SCENARIO_LABELS: Record<ScenarioName, string> = {
  raw: 'raw thrift client → server (floor)',
  'mesh-static': 'meta-mesh, static route only',
  'mesh-full': 'meta-mesh, full chain',
  'two-hop': 'raw client → HAProxy → HAProxy → server',
};

/** The service name the meta-mesh scenarios call; the YAML files declare it. */
export const MESH_HOST = 'calc.perf.svc';
export const MESH_PORT = 9090;

/** Source YAML of each meta-mesh scenario (compiled code runs from dist/bench/perf). */
const SOURCE_DIR = path.resolve(__dirname, '../../../bench/perf');
export const MESH_CONFIG_FILES: Partial<Record<ScenarioName, string>> = {
  'mesh-static': path.join(SOURCE_DIR, 'static-routes.yaml'),
  'mesh-full': path.join(SOURCE_DIR, 'full-chain.yaml'),
};

/**
 * Mesh options of the full-chain scenario beyond config and logging. Switch
 * the real filters on here as they land, e.g. `telemetry: { metrics: true }`,
 * and set `standInMetrics` to false once the mesh's own metrics filter runs.
 */
export const FULL_CHAIN = {
  meshOptions: {
    // The mesh's own metrics filter, through the OTel API with no SDK registered.
    telemetry: { metrics: true },
  } as Partial<MeshOptions> & Record<string, unknown>,
  /** Adds an outbound filter that records OTel API metrics (no SDK: no-op instruments); off now the mesh's own filter runs. */
  standInMetrics: false,
  /** A client-side local rate limit (the MetaRouter's limit applies on servers), with a bucket no rate can drain. */
  clientRateLimit: true,
};

/** Writes the scenario's YAML with the server's port filled in; returns its path. */
export function writeMeshConfig(scenario: ScenarioName, serverPort: number, dir: string): string | undefined {
  const source = MESH_CONFIG_FILES[scenario];
  if (source === undefined) return undefined;
  const text = fs.readFileSync(source, 'utf8').replaceAll('${SERVER_PORT}', String(serverPort));
  const file = path.join(dir, `${scenario}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

/** Mesh.start options of a meta-mesh scenario. Unsupported fields only warn; the bench keeps them quiet. */
export function meshOptions(scenario: ScenarioName, configFile: string): MeshOptions {
  const base: MeshOptions = { config: configFile, watch: false, logger: () => {} };
  if (scenario !== 'mesh-full') return base;
  const outbound: Filter[] = FULL_CHAIN.standInMetrics ? [otelMetricsFilter()] : [];
  if (FULL_CHAIN.clientRateLimit) {
    const local = new LocalRateLimiter({ tokenBucket: { maxTokens: 1e9, tokensPerFill: 1e9, fillIntervalMs: 1000 } });
    outbound.push(createRateLimitFilter({ local }));
  }
  return { ...base, ...FULL_CHAIN.meshOptions, filters: { outbound } };
}

/** The warnings a scenario's config raises (fields accepted but not enforced yet), for the report. */
export async function meshWarnings(scenario: ScenarioName, configFile: string): Promise<string[]> {
  const { Mesh } = await import('meta-mesh');
  const warnings: string[] = [];
  const mesh = await Mesh.start({ ...meshOptions(scenario, configFile), preconnect: false, logger: (m) => warnings.push(m) });
  await mesh.close();
  return warnings.map((w) => w.replace(/^meta-mesh: /, '').replace(/^\/\S+\//, ''));
}
