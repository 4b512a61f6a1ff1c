// The fuzz targets: each takes bytes (a mutation of a real captured message
// or config) and must either accept them or refuse them with the expected
// error (MeshError CODEC / CONFIG, ConfigError, a NACK reason); anything else
// (another exception, a hang, a crash) is a finding. Seeded and reproducible:
// the same seed gives the same inputs. No coverage-guided fuzzer for Node
// installs from the npm registry alone and runs here, so this is mutation of
// real inputs with a seeded PRNG (mulberry32).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseConfig } from '../../lib/config';
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
        if (at < bytes.length) bytes[at] ^= 1 << Math.floor(rand() * 8);
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

function demoSources(): { file: string; text: string }[] {
  return fs.readdirSync(DEMO).map((f) => ({ file: f, text: fs.readFileSync(path.join(DEMO, f), 'utf8') }));
}

const yaml: FuzzTarget = {
  name: 'YAML loader',
  corpus: () => demoSources().map((s) => Buffer.from(s.text)),
  run: (input) => {
    guard(() => {
      parseConfig([{ file: 'fuzz.yaml', text: input.toString('utf8') }]);
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
