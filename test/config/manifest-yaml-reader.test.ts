// readManifestYaml must give exactly what js-yaml's loadAll (core schema)
// gives, or give up (undefined) so js-yaml reads the file. Checked on the
// repository's YAML files, on generated meshes, and on thousands of random
// streams built from the constructs manifests use and many they must not
// take (anchors, tags, block scalars, escapes, duplicate keys, bad syntax).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { readManifestYaml } from '../../lib/config/manifest-yaml-reader';
import { mulberry32 } from '../support/mulberry32';
import { generatedMesh } from './manifests';

const ROOT = path.join(__dirname, '..', '..', '..');

type Verdict = 'same' | 'declined';

/** 'same' when the reader gave js-yaml's documents, 'declined' when it gave up; fails on any other result. */
function verdict(text: string): Verdict {
  let expected: unknown[] | undefined;
  try {
    expected = loadAll(text, { schema: CORE_SCHEMA });
  } catch {
    expected = undefined;
  }
  const got = readManifestYaml(text);
  if (got === undefined) return 'declined';
  assert.ok(expected !== undefined, `js-yaml refuses ${JSON.stringify(text)} but the reader read it`);
  assert.deepStrictEqual(got, expected, JSON.stringify(text));
  return 'same';
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.') ? [] : yamlFiles(full);
    return /\.ya?ml$/.test(e.name) ? [full] : [];
  });
}

/** Random YAML streams: block mappings and sequences (compact, indentless), flow collections, scalars of every core type, comments, markers, and things the reader must decline. */
function randomStream(rand: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
  const scalars = [
    'a', 'b c', '10.0.0.1', '9090', '-1', '0x1F', '0o17', '1.5', '.inf', '-.Inf', '.nan', 'true', 'False', 'null', '~', 'NULL', 'yes',
    "'q'", "'it''s'", '"dq"', '"a\\"b"', '"x #y"', 'a#b', 'a #c', 'http://x:1', 'a:b', '-x', '- x', '[1, 2]', '[a, [b, c]]', '{a: 1}',
    '{a: 1, b: [x, y]}', '{}', '[]', '{"k.x": v}', '{a: }', '[a, ]', '&anchor a', '*alias', '!tag a', '|', '>', '', '1_000', '012', '+1',
    '-0', '1e3', 'v1', 'a: b', "'multi", '@x', '`x', '%x', '? x', ': x', '{a: 1', '[a: 1]', '{a, b}', 'x,y', 'k: v # c', '12345678901234567890',
  ];
  const keys = ['a', 'b', 'name', 'labels', '"quoted"', "'sq'", 'k.x/y', '1', 'true', 'null', '~', '<<', '__proto__', '"__proto__"', '-k', 'a b', 'x:y', 'a #b', '? a', 'toString'];
  const value = (indent: number, depth: number): string => {
    const r = rand();
    if (r < 0.55) {
      const s = pick(scalars);
      return `${s === '' ? '' : ` ${s}`}${rand() < 0.1 ? '  # trailing' : ''}\n`;
    }
    if (r < 0.6) return '\n';
    const b = block(indent + (rand() < 0.15 ? 0 : rand() < 0.9 ? 2 : 3), depth + 1);
    return b === undefined ? ` ${pick(scalars)}\n` : `${rand() < 0.1 ? ' # c' : ''}\n${b}`;
  };
  const block = (indent: number, depth: number): string | undefined => {
    const pad = ' '.repeat(indent);
    const r = rand();
    if (depth > 3 || r < 0.3) return undefined;
    let out = '';
    const n = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < n; i++) {
      if (r < 0.65) {
        out += `${pad}${rand() < 0.1 ? 'a' : pick(keys)}:${value(indent, depth)}`;
        if (rand() < 0.05) out += `${pad}# comment\n`;
        if (rand() < 0.05) out += '\n';
      } else if (rand() < 0.4) {
        out += `${pad}- ${pick(keys)}:${value(indent + 2, depth)}`;
        for (let j = Math.floor(rand() * 3); j > 0; j--) out += `${pad}  ${pick(keys)}:${value(indent + 2, depth)}`;
      } else {
        out += `${pad}-${value(indent, depth)}`;
      }
    }
    return out;
  };
  let out = rand() < 0.3 ? '---\n' : '';
  for (let n = 1 + Math.floor(rand() * 3), i = 0; i < n; i++) {
    if (i > 0) out += pick(['---\n', '--- # x\n', '---\n---\n', '...\n', '--- a\n']);
    out += block(0, 0) ?? 'a: 1\n';
  }
  if (rand() < 0.2) out += '---\n';
  if (rand() < 0.1) out = out.replace(/\n/g, '\r\n');
  if (rand() < 0.05) out = out.replace('  ', '\t');
  return out;
}

describe('readManifestYaml', () => {
  it("reads the repository's YAML files as js-yaml does", () => {
    const verdicts = yamlFiles(ROOT).map((file) => verdict(fs.readFileSync(file, 'utf8')));
    assert.ok(verdicts.filter((v) => v === 'same').length >= 20, `read ${verdicts.filter((v) => v === 'same').length} of ${verdicts.length} files itself`);
  });

  it('reads generated meshes (ServiceEntry, WorkloadEntry, DestinationRule, MetaRouter) itself, as js-yaml does', () => {
    for (const [services, endpoints] of [[1, 1], [6, 10], [20, 40]] as const) assert.equal(verdict(generatedMesh(services, endpoints)), 'same');
  });

  it('reads or declines thousands of random streams, never reading one differently from js-yaml', () => {
    const rand = mulberry32(22);
    const counts = { same: 0, declined: 0 };
    for (let i = 0; i < 4000; i++) counts[verdict(randomStream(rand))]++;
    assert.ok(counts.same > 500 && counts.declined > 500, JSON.stringify(counts));
  });

  it('reads a nested value repeated under many parents once, shares it, and still reads every stream as js-yaml does', () => {
    const rand = mulberry32(7);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
    // Nested values as endpoint lists repeat them, at the indentation of their key, and what may follow them.
    const nested = (pad: string) =>
      rand() < 0.05
        ? // Ones the reader declines: a line between the key's and the value's indentation, or a deeper one.
          pick([`\n${pad}  version: v1\n${pad}   odd: indent\n`, `\n${pad}  version: v1\n${pad} stray: x\n`, `\n${pad}  version: v1\n${pad}    more: text\n`])
        : pick([
            `\n${pad}  version: v1\n`,
            `\n${pad}  version: v1\n${pad}  zone: z\n`,
            `\n${pad}  version: v1\n${pad}  # a comment\n\n${pad}  zone: z\n`,
            `\n${pad}    deeper: {a: 1}\n`,
            `\n${pad}  - a\n${pad}  - b\n`,
            `\n${pad}- a\n${pad}- b\n`,
            ` {tcp-thrift: 9090}\n`,
            ` {tcp-thrift: 9090}  # c\n`,
            ` [a, {b: 1}]\n`,
          ]);
    const after = ['', '---\n', '...\n', '--- # x\n', 'tail: 1\n', '  deeper: 2\n', '# end\n'];
    const counts = { same: 0, declined: 0 };
    for (let i = 0; i < 1500; i++) {
      let out = 'kind: ServiceEntry\nspec:\n  endpoints:\n';
      const pad = pick(['    ', '      ']);
      for (let j = 1 + Math.floor(rand() * 6); j > 0; j--) {
        out += `${pad.slice(2)}- address: 10.0.0.${j}\n${pad}labels:${nested(pad)}${pad}ports:${nested(pad)}`;
      }
      if (rand() < 0.5) out += `other:\n  labels:${nested('')}`;
      counts[verdict(out + pick(after))]++;
    }
    assert.ok(counts.same > 300 && counts.declined > 100, JSON.stringify(counts));
    // The same text is one value: 1,000 endpoints hold one labels object and one ports object between them.
    const endpoints = Array.from({ length: 1000 }, (_, i) => `  - address: 10.0.${i >> 8}.${i & 255}\n    ports: {tcp-thrift: 9090}\n    labels:\n      version: v1\n`).join('');
    const [doc] = readManifestYaml(`spec:\n  endpoints:\n${endpoints}`) ?? [];
    const list = (doc as { spec: { endpoints: { address: string; ports: object; labels: object }[] } }).spec.endpoints;
    assert.equal(list.length, 1000);
    assert.equal(new Set(list.map((e) => e.address)).size, 1000);
    assert.equal(new Set(list.map((e) => e.ports)).size, 1, 'one ports object');
    assert.equal(new Set(list.map((e) => e.labels)).size, 1, 'one labels object');
  });

  it('declines what it does not read exactly, for js-yaml to read', () => {
    const declined = [
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'a: |\n  text\n',
      'a: >\n  text\n',
      'a: b\n  c\n', // a multi-line plain scalar
      'a: "tab\\tx"\n',
      'a: 1\na: 2\n', // js-yaml refuses duplicate keys
      '%YAML 1.2\n---\na: 1\n',
      'a:\tb\n',
      'a: 1\r\n',
      '--- a: 1\n',
      'a: 1\n...\n',
      '1: x\n',
      'a: [1,\n  2]\n',
      '? a\n: b\n',
      '- - a\n',
      'just text\n',
      'a: {b: }\n',
      '__proto__: x\n',
    ];
    for (const text of declined) assert.equal(readManifestYaml(text), undefined, JSON.stringify(text));
  });

  it('types plain scalars as the core schema does and keeps quoted ones as strings', () => {
    assert.deepEqual(readManifestYaml("a: 012\nb: '012'\nc: 0x1F\nd: -.inf\ne: ~\nf: True\ng: 1_000\nh: 10.0.0.1\ni: \"null\"\n"), [
      { a: 12, b: '012', c: 31, d: -Infinity, e: null, f: true, g: '1_000', h: '10.0.0.1', i: 'null' },
    ]);
  });
});
