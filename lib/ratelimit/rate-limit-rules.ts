// RateLimitRules: limits written in envoyproxy/ratelimit's config format
// (`domain` + nested `descriptors` of {key, value?, rate_limit{unit,
// requests_per_unit}}), compiled into a lookup tree once. A request
// descriptor walks the tree entry by entry: a node with the same key and
// value wins over one with the key alone (which limits each value on its
// own); the node reached by the last entry holds the limit, if any.
import { parse as parseYaml } from 'yaml';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { RateLimitDescriptor } from './global-rate-limiter';

export type RateLimitUnit = 'second' | 'minute' | 'hour' | 'day';

/** One node of an envoyproxy/ratelimit config, field names as in its YAML. */
export interface RateLimitDescriptorConfig {
  readonly key: string;
  readonly value?: string;
  readonly rate_limit?: { readonly unit: RateLimitUnit | Uppercase<RateLimitUnit>; readonly requests_per_unit: number; readonly name?: string };
  /** Never limited, even when a parent would be. */
  readonly unlimited?: boolean;
  readonly descriptors?: readonly RateLimitDescriptorConfig[];
}

export interface RateLimitDomainConfig {
  readonly domain: string;
  readonly descriptors: readonly RateLimitDescriptorConfig[];
}

/** A compiled limit: `requestsPerUnit` per `unitMs`. */
export interface RateLimitRule {
  /** `rate_limit.name`, else the config path such as `method_foo.user`. */
  readonly name: string;
  readonly requestsPerUnit: number;
  readonly unitMs: number;
  /** unlimited: true */
  readonly unlimited: boolean;
}

const UNIT_MS: Record<RateLimitUnit, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

interface Level {
  readonly byKey: Map<string, { readonly values: Map<string, Node>; any: Node | undefined }>;
}

interface Node {
  readonly rule: RateLimitRule | undefined;
  readonly children: Level;
}

export class RateLimitRules {
  private readonly domains = new Map<string, Level>();

  /** Compiles one or more domain configs; throws MeshError CONFIG naming the bad field. */
  constructor(configs: RateLimitDomainConfig | readonly RateLimitDomainConfig[]) {
    const list = Array.isArray(configs) ? configs : [configs as RateLimitDomainConfig];
    for (const c of list) {
      if (c === null || typeof c !== 'object' || typeof c.domain !== 'string' || c.domain === '') {
        throw configError('a rate limit config has no `domain`; set `domain` to the domain the callers send');
      }
      if (this.domains.has(c.domain)) throw configError(`rate limit domain '${c.domain}' is configured twice; merge the two configs`);
      this.domains.set(c.domain, compileLevel(c.descriptors ?? [], c.domain));
    }
  }

  /** Parses envoyproxy/ratelimit YAML: one document per domain. */
  static fromYaml(text: string): RateLimitRules {
    let docs: unknown[];
    try {
      docs = text
        .split(/^---\s*$/m)
        .map((d) => parseYaml(d) as unknown)
        .filter((d) => d !== null && d !== undefined);
    } catch (err) {
      throw new MeshError(MeshErrorCode.CONFIG, `rate limit config is not valid YAML: ${(err as Error).message}`, { cause: err });
    }
    return new RateLimitRules(docs as RateLimitDomainConfig[]);
  }

  get domainNames(): string[] {
    return [...this.domains.keys()];
  }

  /** The limit for `descriptor` in `domain`, or undefined when none applies. */
  find(domain: string, descriptor: RateLimitDescriptor): RateLimitRule | undefined {
    let level = this.domains.get(domain);
    if (level === undefined || descriptor.length === 0) return undefined;
    let node: Node | undefined;
    for (let i = 0; i < descriptor.length; i++) {
      const entry = descriptor[i]!;
      const slot: { readonly values: Map<string, Node>; any: Node | undefined } | undefined = level.byKey.get(entry.key);
      if (slot === undefined) return undefined;
      node = slot.values.get(entry.value) ?? slot.any;
      if (node === undefined) return undefined;
      level = node.children;
    }
    const rule = node!.rule;
    return rule === undefined || rule.unlimited ? undefined : rule;
  }
}

function compileLevel(configs: readonly RateLimitDescriptorConfig[], path: string): Level {
  if (!Array.isArray(configs)) throw configError(`\`descriptors\` under '${path}' must be a list`);
  const level: Level = { byKey: new Map() };
  for (const c of configs) {
    if (c === null || typeof c !== 'object' || typeof c.key !== 'string' || c.key === '') {
      throw configError(`a descriptor under '${path}' has no \`key\`; every descriptor needs a key`);
    }
    const hasValue = c.value !== undefined && c.value !== null && c.value !== '';
    const here = hasValue ? `${path}.${c.key}_${String(c.value)}` : `${path}.${c.key}`;
    const node: Node = { rule: compileRule(c, here), children: compileLevel(c.descriptors ?? [], here) };
    let slot = level.byKey.get(c.key);
    if (slot === undefined) level.byKey.set(c.key, (slot = { values: new Map(), any: undefined }));
    if (hasValue) {
      const value = String(c.value);
      if (slot.values.has(value)) throw configError(`descriptor '${here}' is configured twice; keep one`);
      slot.values.set(value, node);
    } else {
      if (slot.any !== undefined) throw configError(`descriptor '${here}' is configured twice; keep one`);
      slot.any = node;
    }
  }
  return level;
}

function compileRule(c: RateLimitDescriptorConfig, path: string): RateLimitRule | undefined {
  const unlimited = c.unlimited === true;
  const rl = c.rate_limit;
  if (rl === undefined || rl === null) return unlimited ? { name: path, requestsPerUnit: 0, unitMs: 0, unlimited } : undefined;
  const unitMs = UNIT_MS[String(rl.unit).toLowerCase() as RateLimitUnit];
  if (unitMs === undefined) {
    throw configError(`rate_limit.unit of '${path}' is '${String(rl.unit)}'; use second, minute, hour or day`);
  }
  const n = rl.requests_per_unit;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw configError(`rate_limit.requests_per_unit of '${path}' is ${String(n)}; set a whole number of requests (0 refuses all)`);
  }
  return { name: typeof rl.name === 'string' && rl.name !== '' ? rl.name : path, requestsPerUnit: n, unitMs, unlimited };
}

function configError(message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, message);
}
