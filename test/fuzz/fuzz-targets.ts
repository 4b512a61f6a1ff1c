// The fuzz targets: each takes bytes (a mutation of a real captured message
// or config) and must either accept them or refuse them with the expected
// error (MeshError CODEC / CONFIG, ConfigError, a NACK reason); anything else
// (another exception, a hang, a crash) is a finding. Seeded and reproducible:
// the same seed gives the same inputs. No coverage-guided fuzzer for Node
// installs from the npm registry alone and runs here, so this is mutation of
// real inputs with a seeded PRNG (mulberry32).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ConfigError, parseConfig } from '../../lib/config';
import { parseManifests, type ParsedManifest } from '../../lib/config/parse-config';
import { runNow } from '../../lib/config/sliced-work';
import { MeshError } from '../../lib/protocol';
import { FrameReader } from '../../lib/protocol/frame-reader';
import { compileMatcher } from '../../lib/route';
import { Metadata } from '../../lib/protocol/metadata';
import { applyResponse } from '../../lib/xds/apply-response';
import { cdsResourceType } from '../../lib/xds/cds-resource-type';
import { edsResourceType } from '../../lib/xds/eds-resource-type';
import { rdsResourceType } from '../../lib/xds/rds-resource-type';
import { ResourceStore } from '../../lib/xds/resource-store';
import { packResource } from '../../lib/xds/xds-protos';
import { resourcesFromSnapshot } from '../../lib/xds/resources-from-snapshot';
import { createThriftCodec } from '../../adapters/thrift';
import { createDubboCodec } from '../../adapters/dubbo';
import { captureRequests, STACKS } from '../adapters/thrift/support/thrift-wire';
import type { XdsResourceType } from '../../lib/xds/xds-resource-type';

export interface FuzzTarget {
  readonly name: string;
  /** Real inputs to mutate. */
  readonly corpus: () => Buffer[];
  /** Runs one input; throws only for a finding. */
  readonly run: (input: Buffer, rand: () => number) => void;
  /**
   * The target makes its own inputs from `rand` (it mutates structure, not
   * bytes): `run` is then given no bytes, and a finding is reproduced by its
   * seed and input index alone.
   */
  readonly mutatesItself?: boolean;
}

/** Refusals a target may make; anything else thrown is a finding. */
function expected(err: unknown): boolean {
  return err instanceof MeshError || err instanceof ConfigError;
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!expected(err)) throw err;
  }
}

/** A seeded mutation of `seed`: bit flips, byte sets, inserts, deletes, truncation, splices of interesting values. */
export function mutate(seed: Buffer, rand: () => number): Buffer {
  const bytes = [...seed];
  const edits = 1 + Math.floor(rand() * 4);
  const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x0f, 0x10, 0x82, 0x21];
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 6)) {
      case 0:
        if (at < bytes.length) bytes[at]! ^= 1 << Math.floor(rand() * 8);
        break;
      case 1:
        if (at < bytes.length) bytes[at] = INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
        break;
      case 2:
        bytes.splice(at, 0, Math.floor(rand() * 256));
        break;
      case 3:
        bytes.splice(at, 1 + Math.floor(rand() * 8));
        break;
      case 4:
        bytes.length = Math.min(bytes.length, at);
        break;
      default: {
        // a 32-bit length or count set to an extreme
        if (at + 4 <= bytes.length) {
          const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x00ffffff, 0][Math.floor(rand() * 5)]!;
          bytes[at] = v >>> 24;
          bytes[at + 1] = (v >>> 16) & 0xff;
          bytes[at + 2] = (v >>> 8) & 0xff;
          bytes[at + 3] = v & 0xff;
        }
      }
    }
  }
  return Buffer.from(bytes);
}

function thriftCorpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const stack of STACKS) {
    out.push(...captureRequests(stack, (c) => [c.add(1, 2), c.echo('hello'), c.version()]));
    out.push(...captureRequests(stack, (c) => c.add(3, 4), { service: 'Calc' }));
    if (stack.startsWith('header')) out.push(...captureRequests(stack, (c) => c.add(5, 6), { headers: { 'x-user': 'u1', service: 'x' } }));
  }
  return out;
}

const thrift: FuzzTarget = {
  name: 'thrift codec (binary, compact × framed, unframed, THeader)',
  corpus: thriftCorpus,
  run: (input, rand) => {
    guard(() => {
      createThriftCodec({ maxFrameSize: 1 << 20 }).decode(input, 'request');
    });
    // The same bytes through a stream reader in random chunks.
    guard(() => {
      const reader = new FrameReader(createThriftCodec({ maxFrameSize: 1 << 20 }), 'request');
      for (let at = 0; at < input.length; ) {
        const n = 1 + Math.floor(rand() * 16);
        reader.push(input.subarray(at, at + n), () => undefined);
        at += n;
      }
    });
  },
};

function dubboFrame(values: unknown[]): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hessian = require('hessian.js') as { EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer } };
  const e = new hessian.EncoderV2();
  for (const v of values) e.write(v);
  const body = e.get();
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0xdabb, 0);
  h[2] = 0xc2;
  h.writeUInt32BE(9, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

const dubbo: FuzzTarget = {
  name: 'dubbo codec',
  corpus: () => [
    dubboFrame(['2.0.2', 'org.example.Demo', '1.0.0', 'sayHello', 'Ljava/lang/String;I', 'world', 42, { $class: 'java.util.HashMap', $: { group: 'g', foo: 'bar' } }]),
    dubboFrame(['2.0.2', 'org.example.Demo', '', 'list', 'Ljava/util/List;', [1, 2, 3], { $class: 'java.util.HashMap', $: {} }]),
  ],
  run: (input) => {
    guard(() => {
      createDubboCodec({ maxBodySize: 1 << 20 }).decode(input, 'request');
    });
    guard(() => {
      createDubboCodec({ maxBodySize: 1 << 20 }).decode(input, 'response');
    });
  },
};

const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const EXAMPLES = path.resolve(__dirname, '../../../examples');

function demoSources(): { file: string; text: string }[] {
  return fs.readdirSync(DEMO).map((f) => ({ file: f, text: fs.readFileSync(path.join(DEMO, f), 'utf8') }));
}

/** Whole configs that load: the Thrift demo and each example's mesh.yaml (Dubbo, Redis, Thrift kinds). */
function yamlSeedSets(): { file: string; text: string }[][] {
  const examples = ['thrift-canary', 'dubbo-canary', 'redis-routing'].map((e) => {
    const file = path.join(EXAMPLES, e, 'mesh.yaml');
    return [{ file, text: fs.readFileSync(file, 'utf8') }];
  });
  return [demoSources(), ...examples];
}

/** A seed document parsed once, with its own text (what the text mode mutates: one document parses faster than a file). */
interface SeedDocument extends ParsedManifest {
  readonly text: Buffer;
}

/** Every document of a seed set, parsed once. */
function parsedSeedSet(sources: readonly { file: string; text: string }[]): SeedDocument[] {
  const out: SeedDocument[] = [];
  for (const source of sources) {
    const lines = new LineCounter();
    parseAllDocuments(source.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false }).forEach((yaml, i) => {
      const [start, , end] = yaml.range;
      const text = Buffer.from(source.text.slice(start, end));
      out.push({ file: source.file, index: i + 1, yaml, lines, value: yaml.toJS({ maxAliasCount: 1000 }), text });
    });
  }
  return out;
}

/** Values a field may be set to: wrong types, edge numbers, odd strings. */
const ODD_VALUES: readonly unknown[] = [
  null, '', 0, -1, 1, 1.5, 65536, 4294967296, Number.MAX_SAFE_INTEGER, -0, true, false, [], {}, [[]], [{}], { '': '' },
  'x', '*', '(a+)+$', '[', '10ms', '-5s', '1e309', 'NaN', 'v1', 'default', 'outbound|9090|v1|calc', '127.0.0.1', '::1',
  'a.b.c.d.e', '😀', 'x'.repeat(300), '0.0.0.0/0', 'tcp-metaprotocol-thrift', 'ROUND_ROBIN',
];

type Json = unknown;

function childKeys(node: Json): (string | number)[] {
  return Array.isArray(node) ? node.map((_, i) => i) : node !== null && typeof node === 'object' ? Object.keys(node) : [];
}

/** A random node of `value`. */
function pick(value: Json, rand: () => number): Json {
  let node = value;
  for (;;) {
    const keys = childKeys(node);
    if (keys.length === 0 || rand() < 0.25) return node;
    node = (node as Record<string | number, Json>)[keys[Math.floor(rand() * keys.length)]!];
  }
}

/**
 * A copy of `root` in which the containers on the way to a random node are
 * copies (the rest is shared with the seed, which stays as it was), with the
 * copied container and key that hold that node (undefined at the root).
 */
function pickToEdit(root: Json, rand: () => number): { root: Json; parent: Record<string, Json> | Json[] | undefined; key: string | number | undefined; node: Json } {
  const copy = (v: Json): Json => (Array.isArray(v) ? [...v] : v !== null && typeof v === 'object' ? { ...(v as object) } : v);
  const top = copy(root);
  let parent: Record<string, Json> | Json[] | undefined;
  let key: string | number | undefined;
  let node = top;
  for (;;) {
    const keys = childKeys(node);
    if (keys.length === 0 || rand() < 0.25) return { root: top, parent, key, node };
    parent = node as Record<string, Json> | Json[];
    key = keys[Math.floor(rand() * keys.length)]!;
    node = copy((parent as Record<string | number, Json>)[key]);
    (parent as Record<string | number, Json>)[key] = node;
  }
}

/** One structural edit of `value` (copy on write): set a node to an odd value or another seed's node, delete, rename, duplicate or empty it. */
function mutateValue(value: Json, donors: readonly ParsedManifest[], rand: () => number): Json {
  const { root, parent, key, node } = pickToEdit(value, rand);
  const kind = Math.floor(rand() * 6);
  const replacement = (): Json => {
    if (rand() < 0.7) return ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
    // A node from a document of any seed set: right-shaped values in wrong places.
    const donor = donors[Math.floor(rand() * donors.length)]!;
    return structuredClone(pick(donor.value, rand));
  };
  if (parent === undefined || key === undefined) return kind === 0 ? replacement() : root;
  const holder = parent as Record<string | number, Json>;
  switch (kind) {
    case 0:
    case 1:
      holder[key] = replacement();
      break;
    case 2:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete holder[key];
      break;
    case 3:
      // A key with a typo, or an array item twice.
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(node));
      else {
        delete holder[key];
        holder[`${String(key)}${rand() < 0.5 ? 's' : ''}`.slice(rand() < 0.5 ? 1 : 0)] = node;
      }
      break;
    case 4:
      holder[key] = Array.isArray(node) ? [] : node !== null && typeof node === 'object' ? {} : String(node);
      break;
    default:
      if (typeof node === 'string') holder[key] = node.split('').reverse().join('');
      else if (typeof node === 'number') holder[key] = -node;
      else holder[key] = replacement();
  }
  return root;
}

/** The YAML parser is a dependency (and 50 times slower per input than the loader behind it): one input in 20 goes through it. */
const TEXT_SHARE = 0.03;

let yamlSeeds: { sets: { file: string; text: string }[][]; parsed: SeedDocument[][]; all: SeedDocument[] } | undefined;

function seeds(): NonNullable<typeof yamlSeeds> {
  if (yamlSeeds === undefined) {
    const sets = yamlSeedSets();
    const parsed = sets.map(parsedSeedSet);
    yamlSeeds = { sets, parsed, all: parsed.flat() };
  }
  return yamlSeeds;
}

/** The YAML target's parsed seeds and a fresh parse of the same files: equal unless a run changed a seed (runs then would not reproduce). */
export function yamlSeedsNow(): { used: unknown[]; fresh: unknown[] } {
  return { used: seeds().all.map((d) => d.value), fresh: yamlSeedSets().flatMap(parsedSeedSet).map((d) => d.value) };
}

/**
 * The YAML loader, two ways. One input in TEXT_SHARE is text: a byte
 * mutation of one seed file, through the YAML parser and the loader. The rest mutate the
 * parsed documents of a whole seed config (1 to 4 structural edits, see
 * mutateValue) and go through parseManifests, the loader without the YAML
 * parse: every check and the snapshot build, at a thousand-fold the rate of
 * re-parsing text, so a million inputs fit in a few minutes.
 */
const yaml: FuzzTarget = {
  name: 'YAML loader',
  corpus: () => seeds().sets.flat().map((s) => Buffer.from(s.text)),
  mutatesItself: true,
  run: (_input, rand) => {
    const { sets, parsed, all } = seeds();
    const which = Math.floor(rand() * sets.length);
    if (rand() < TEXT_SHARE) {
      const doc = parsed[which]![Math.floor(rand() * parsed[which]!.length)]!;
      const text = mutate(doc.text, rand).toString('utf8');
      guard(() => {
        parseConfig([{ file: doc.file, text }]);
      });
      return;
    }
    const docs: ParsedManifest[] = parsed[which]!.map((d) => ({ ...d }));
    for (let edits = 1 + Math.floor(rand() * 4); edits > 0; edits--) {
      const doc = docs[Math.floor(rand() * docs.length)]!;
      (doc as { value: Json }).value = mutateValue(doc.value, all, rand);
    }
    guard(() => {
      parseManifests(docs);
    });
  },
};

function xdsCorpus(): Buffer[] {
  const snapshot = parseConfig(demoSources());
  const r = resourcesFromSnapshot(snapshot);
  return [
    ...r.routeConfigurations.map((x) => Buffer.concat([Buffer.from([0]), Buffer.from(packResource(rdsResourceType.typeUrl as never, x).value)])),
    ...r.clusters.map((x) => Buffer.concat([Buffer.from([1]), Buffer.from(packResource(cdsResourceType.typeUrl as never, x).value)])),
    ...r.assignments.map((x) => Buffer.concat([Buffer.from([2]), Buffer.from(packResource(edsResourceType.typeUrl as never, x).value)])),
  ];
}

const xds: FuzzTarget = {
  name: 'xDS decoders (RDS, CDS, EDS through the per-type handlers)',
  corpus: xdsCorpus,
  run: (input) => {
    const types = [rdsResourceType, cdsResourceType, edsResourceType] as XdsResourceType<unknown, unknown>[];
    const type = types[(input[0] ?? 0) % 3]!;
    const store = new ResourceStore<unknown, unknown>(() => 0);
    const value = input.subarray(1);
    // Any name is wanted: the whole decode and validation runs. A refusal comes back as NACK reasons, never a throw.
    runNow(applyResponse(type, store, { version_info: '1', type_url: type.typeUrl, resources: [{ type_url: type.typeUrl, value }] }, { wanted: () => true, serverKnowsOf: () => true }));
  },
};

const PATTERN_PARTS = ['a', 'b', '.', '*', '+', '?', '(', ')', '[', ']', '|', '^', '$', '\\', 'd', 'w', '{', '}', '1', ',', '(?i)', '-', 'z'];

const matchers: FuzzTarget = {
  name: 'matchers (RE2 regex, exact, prefix, range, ...)',
  corpus: () => [Buffer.from('(a+)+$'), Buffer.from('v[0-9]+\\.[0-9]+'), Buffer.from('get|put'), Buffer.from('123')],
  run: (input, rand) => {
    let pattern = input.toString('latin1');
    if (rand() < 0.5) for (let i = 0; i < 4; i++) pattern += PATTERN_PARTS[Math.floor(rand() * PATTERN_PARTS.length)];
    const kinds = ['regex', 'exact', 'prefix', 'suffix', 'contains', 'range', 'present'] as const;
    const kind = kinds[Math.floor(rand() * kinds.length)]!;
    guard(() => {
      const p = compileMatcher({ name: 'k', kind, value: pattern, rangeStart: -5, rangeEnd: 50, invert: rand() < 0.3, treatMissingAsEmpty: rand() < 0.3 });
      const value = 'a'.repeat(Math.floor(rand() * 64)) + String.fromCharCode(Math.floor(rand() * 128));
      p(new Metadata({ k: value }));
      p(new Metadata());
    });
  },
};

export const FUZZ_TARGETS: readonly FuzzTarget[] = [thrift, dubbo, xds, yaml, matchers];
