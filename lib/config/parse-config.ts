// parseConfig: YAML text of Kubernetes manifests → one checked Snapshot, or a
// ConfigError listing every problem of every file. Pure and synchronous.
//
// Large files (100k endpoints, megabytes of YAML) take a fast path: they are
// read into plain values by readManifestYaml (the subset of YAML generated
// manifests use) or, when a file uses more, by js-yaml, many times faster
// than the `yaml` package builds its document trees, but without the
// positions problems are reported at. A document readManifestYaml read keeps
// where its text is, and the first message about it parses just that
// document the positioned way for its lines. A file js-yaml read has no such
// places: when the config has a problem or a warning and such a file is in
// it, the whole config is read again the positioned way. Either way every
// message is the one the small-file path gives.

import { CORE_SCHEMA, loadAll } from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import { destinationRuleSpecSchema, metaRouterSpecSchema, metadataSchema, serviceEntrySpecSchema, workloadEntrySpecSchema } from './crd-schemas';
import { ConfigError } from './config-error';
import { Diagnostics } from './diagnostics';
import { didYouMean } from './did-you-mean';
import { ManifestDocument } from './manifest-document';
import { positionedYaml } from './positioned-yaml';
import { readManifestYamlDocuments } from './manifest-yaml-reader';
import { Manifest, Manifests } from './manifest-types';
import { Snapshot } from './model';
import { authorizationPolicySpecSchema, dubboAuthorizationPolicySpecSchema, peerAuthenticationSpecSchema } from './security-schemas';
import { Schema, checkSchema, describe, isPlainObject } from './schema';
import { buildSnapshot } from './snapshot-builder';
import { redisDestinationSpecSchema, redisServiceSpecSchema } from './redis-schemas';
import { DEFAULT_SECRET_DIR } from './redis-policies';

export interface ConfigSource {
  /** Shown in problems; usually the path the text was read from. */
  readonly file: string;
  readonly text: string;
}

export interface ParseConfigOptions {
  /** Snapshot.version; a process-wide counter when absent. */
  readonly version?: string | undefined;
  /** Where Kubernetes secrets are mounted (`<secretDir>/<name>/<field>`), for RedisService/RedisDestination auth. */
  readonly secretDir?: string | undefined;
  /** @internal Files from this size take the fast path first (default 256 KiB); tests set 0 to compare both paths. */
  readonly fastPathBytes?: number | undefined;
  /** @internal Told whether the fast path's result stood (tests). */
  readonly onFastPath?: ((stood: boolean) => void) | undefined;
  /** @internal Configs from this many characters are parsed in a worker thread (parse-config-off-thread.ts); tests set 0. */
  readonly offThreadChars?: number | undefined;
}

interface KindInfo {
  readonly group: string;
  readonly versions: readonly string[];
  readonly schema: Schema;
  readonly list: keyof Manifests;
}

const ISTIO_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'];

const KINDS: Readonly<Record<string, KindInfo>> = {
  ServiceEntry: { group: 'networking.istio.io', versions: ISTIO_VERSIONS, schema: serviceEntrySpecSchema, list: 'serviceEntries' },
  DestinationRule: { group: 'networking.istio.io', versions: ISTIO_VERSIONS, schema: destinationRuleSpecSchema, list: 'destinationRules' },
  WorkloadEntry: { group: 'networking.istio.io', versions: ISTIO_VERSIONS, schema: workloadEntrySpecSchema, list: 'workloadEntries' },
  MetaRouter: { group: 'metaprotocol.aeraki.io', versions: ['v1alpha1'], schema: metaRouterSpecSchema, list: 'metaRouters' },
  PeerAuthentication: { group: 'security.istio.io', versions: ['v1beta1', 'v1'], schema: peerAuthenticationSpecSchema, list: 'peerAuthentications' },
  AuthorizationPolicy: { group: 'security.istio.io', versions: ['v1beta1', 'v1'], schema: authorizationPolicySpecSchema, list: 'authorizationPolicies' },
  DubboAuthorizationPolicy: { group: 'dubbo.aeraki.io', versions: ['v1alpha1'], schema: dubboAuthorizationPolicySpecSchema, list: 'dubboAuthorizationPolicies' },
  RedisService: { group: 'redis.aeraki.io', versions: ['v1alpha1'], schema: redisServiceSpecSchema, list: 'redisServices' },
  RedisDestination: { group: 'redis.aeraki.io', versions: ['v1alpha1'], schema: redisDestinationSpecSchema, list: 'redisDestinations' },
};

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Files from this size are read by the fast path first (as parse-config-off-thread.ts sends them to a worker thread). */
const FAST_PATH_BYTES = 256 * 1024;

let lastVersion = 0;

/** The next Snapshot.version of this process's counter. */
export function nextSnapshotVersion(): string {
  return String(++lastVersion);
}

/** Parses manifests (several documents per file allowed) into a Snapshot; throws ConfigError on any problem. */
export function parseConfig(sources: readonly ConfigSource[], options: ParseConfigOptions = {}): Snapshot {
  return parseConfigInto(sources, options, new Diagnostics());
}

/** One YAML document already parsed, with the value parseConfig reads from it. */
export interface ParsedManifest {
  readonly file: string;
  /** 1-based position of the document in its file. */
  readonly index: number;
  /** The parsed document and its file's line counter: they place problems on lines. */
  readonly yaml: Document.Parsed;
  readonly lines: LineCounter;
  readonly value: unknown;
}

/**
 * parseConfig from documents already parsed, each with the value to read:
 * the same checks and snapshot, without the YAML parse (the fuzzer mutates
 * values this way, a thousand times faster than it could re-parse text).
 */
export function parseManifests(documents: readonly ParsedManifest[], options: ParseConfigOptions = {}): Snapshot {
  const diagnostics = new Diagnostics();
  const manifests = emptyManifests();
  const seen = new Map<string, ManifestDocument>();
  for (const d of documents) {
    diagnostics.file(d.file);
    readManifest(d.value, new ManifestDocument(d.file, d.index, d.yaml, d.lines, diagnostics), manifests, seen);
  }
  return snapshotOf(manifests, diagnostics, options);
}

function emptyManifests(): Manifests {
  return {
    serviceEntries: [],
    destinationRules: [],
    metaRouters: [],
    workloadEntries: [],
    peerAuthentications: [],
    authorizationPolicies: [],
    dubboAuthorizationPolicies: [],
    redisServices: [],
    redisDestinations: [],
  };
}

function snapshotOf(manifests: Manifests, diagnostics: Diagnostics, options: ParseConfigOptions): Snapshot {
  const snapshot = buildSnapshot(manifests, diagnostics, options.version ?? nextSnapshotVersion(), options.secretDir ?? DEFAULT_SECRET_DIR);
  diagnostics.throwIfProblems();
  return snapshot;
}

/** parseConfig, adding to problems already found (e.g. files that could not be read). */
export function parseConfigInto(sources: readonly ConfigSource[], options: ParseConfigOptions, diagnostics: Diagnostics): Snapshot {
  const clean = diagnostics.problems.length === 0 && diagnostics.warnings.length === 0;
  const fastFrom = options.fastPathBytes ?? FAST_PATH_BYTES;
  if (clean && sources.some((s) => s.text.length >= fastFrom)) {
    // The same files in the same order as `diagnostics` (problems are listed in that order).
    const fast = Diagnostics.from(diagnostics.state());
    const read = { unplaced: false };
    try {
      const snapshot = readAll(sources, options, fast, fastFrom, read);
      if (!read.unplaced || (fast.problems.length === 0 && fast.warnings.length === 0)) {
        options.onFastPath?.(true);
        return snapshot;
      }
    } catch (err) {
      // Every message placed on its line: the same error as the positioned path's.
      if (err instanceof ConfigError && !read.unplaced) {
        options.onFastPath?.(true);
        throw err;
      }
      // Anything else the fast reader refuses (bad syntax, duplicate keys) is for the positioned path to describe.
    }
    options.onFastPath?.(false);
  }
  return readAll(sources, options, diagnostics, Infinity, { unplaced: false });
}

/**
 * Reads every source, those of `fastFrom` characters or more without
 * positions; `read.unplaced` is set when a document was read with no way to
 * find its lines (js-yaml).
 */
function readAll(sources: readonly ConfigSource[], options: ParseConfigOptions, diagnostics: Diagnostics, fastFrom: number, read: { unplaced: boolean }): Snapshot {
  const manifests = emptyManifests();
  const seen = new Map<string, ManifestDocument>();
  for (const source of sources) {
    diagnostics.file(source.file);
    if (source.text.length >= fastFrom) {
      const docs = readManifestYamlDocuments(source.text);
      if (docs !== undefined) {
        const lineOf = lineFinder(source.text);
        docs.forEach((d, i) => {
          const text = { text: source.text, start: d.start, end: d.end, lineOf };
          readManifest(d.value, new ManifestDocument(source.file, i + 1, undefined, undefined, diagnostics, text), manifests, seen, true);
        });
        continue;
      }
      // Without anchors there are no aliases, so no alias can multiply what js-yaml builds.
      const values = source.text.includes('&') ? undefined : loadAll(source.text, { schema: CORE_SCHEMA, filename: source.file });
      if (values !== undefined) {
        read.unplaced = true;
        values.forEach((value, i) => readManifest(value, new ManifestDocument(source.file, i + 1, undefined, undefined, diagnostics), manifests, seen, true));
        continue;
      }
    }
    const { LineCounter, parseAllDocuments } = positionedYaml();
    const lines = new LineCounter();
    const docs = parseAllDocuments(source.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    docs.forEach((yaml, i) => {
      const doc = new ManifestDocument(source.file, i + 1, yaml, lines, diagnostics);
      if (yaml.errors.length > 0) {
        for (const e of yaml.errors) {
          const message = `${e.message.split('\n', 1)[0]}; fix the YAML syntax`;
          diagnostics.problem({ file: source.file, line: lines.linePos(e.pos[0]).line, document: doc.label, field: '', message });
        }
        return;
      }
      let value: unknown;
      try {
        value = yaml.toJS({ maxAliasCount: 1000 });
      } catch (err) {
        doc.problem([], `cannot be read: ${(err as Error).message}`);
        return;
      }
      readManifest(value, doc, manifests, seen, true);
    });
  }
  return snapshotOf(manifests, diagnostics, options);
}

/** The 1-based line of an offset in `text`; the line starts are found once, on the first call. */
function lineFinder(text: string): (offset: number) => number {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) starts.push(nl + 1);
    }
    // The last line start at or before offset.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** `owned`: `value` was just parsed from text and nothing else holds it, so checks may keep its parts instead of copying them. */
function readManifest(value: unknown, doc: ManifestDocument, manifests: Manifests, seen: Map<string, ManifestDocument>, owned = false): void {
  if (value === null || value === undefined) return; // an empty document, e.g. after a trailing ---
  if (!isPlainObject(value)) {
    doc.problem([], `is ${describe(value)}, not a Kubernetes object; write a mapping with apiVersion, kind, metadata and spec`);
    return;
  }
  const { kind, apiVersion } = value;
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    const missing = typeof kind !== 'string' ? 'kind' : 'apiVersion';
    doc.problem([missing], `missing or not a string; every document needs apiVersion and kind (e.g. apiVersion: metaprotocol.aeraki.io/v1alpha1, kind: MetaRouter)`);
    return;
  }
  const rawMeta = isPlainObject(value.metadata) ? value.metadata : {};
  const name = typeof rawMeta.name === 'string' ? rawMeta.name : '';
  const namespace = typeof rawMeta.namespace === 'string' && rawMeta.namespace !== '' ? rawMeta.namespace : 'default';
  doc.identify(kind, namespace, name === '' ? '(unnamed)' : name);
  const info = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  const group = apiVersion.split('/', 1)[0];
  if (info === undefined) {
    const ours = Object.entries(KINDS).flatMap(([k, info]) => (info.group === group ? [k] : []));
    const guess = didYouMean(kind, ours);
    if (guess !== undefined) doc.problem(['kind'], `unknown kind '${kind}' in ${group}; did you mean '${guess}'?`);
    else doc.warn(['kind'], `'${kind}' (${apiVersion}) is ignored; meta-mesh reads ${Object.keys(KINDS).join(', ')}`);
    return;
  }

  const accepted = info.versions.map((v) => `${info.group}/${v}`);
  if (!accepted.includes(apiVersion)) {
    doc.problem(['apiVersion'], `'${apiVersion}' is not an apiVersion of ${kind}; use ${accepted.join(' or ')}`);
  }
  for (const key of Object.keys(value)) {
    if (TOP_LEVEL.includes(key)) continue;
    const guess = didYouMean(key, TOP_LEVEL);
    const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
    doc.problem([key], `unknown field '${key}';${hint} allowed: ${TOP_LEVEL.join(', ')}`);
  }
  if (value.metadata === undefined || value.metadata === null) doc.problem(['metadata'], "missing required field 'metadata' (with at least a name)");
  else checkSchema(value.metadata, metadataSchema, ['metadata'], doc, false, owned);

  if (name !== '') {
    const id = `${kind} ${namespace}/${name}`;
    const first = seen.get(id);
    if (first !== undefined) {
      doc.problem(['metadata', 'name'], `${id} is defined twice (first at ${first.where(['metadata', 'name'])}); rename one or remove it`);
      return;
    }
    seen.set(id, doc);
  }
  if (value.spec === undefined || value.spec === null) {
    doc.problem(['spec'], "missing required field 'spec'");
    return;
  }
  const spec = checkSchema(value.spec, info.schema, ['spec'], doc, false, owned);
  if (spec === undefined) return;
  (manifests[info.list] as Manifest<unknown>[]).push({ doc, name, namespace, spec });
}
