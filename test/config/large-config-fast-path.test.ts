// Large YAML files take a fast path (readManifestYaml or js-yaml into plain
// values, no positions). A document readManifestYaml read finds its lines by
// parsing its own text when a message needs one; a file js-yaml read has no
// such places, and a problem or warning sends the config back to the
// positioned path. These tests force the fast path on small configs
// (fastPathBytes: 0) and check it changes nothing: the same snapshot for
// valid configs, and for configs with problems the same ConfigError, line
// numbers included.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, type ConfigSource, parseConfig } from '../../lib/config';
import { SERVICE, router } from './manifests';

const ROOT = path.join(__dirname, '..', '..', '..');

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(full);
    return e.name.endsWith('.yaml') ? [full] : [];
  });
}

let stood: boolean[] = [];

/** parseConfig's result or its ConfigError message, through the positioned path or (fast) the fast path. */
function outcome(sources: readonly ConfigSource[], fast: boolean): unknown {
  try {
    return parseConfig(sources, { version: '1', ...(fast ? { fastPathBytes: 0, onFastPath: (s: boolean) => stood.push(s) } : {}) });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
}

describe('YAML fast path for large files', () => {
  beforeEach(() => (stood = []));

  it('gives the same snapshot as the positioned path for the examples and a generated mesh', () => {
    const generated = Array.from({ length: 40 }, (_, i) => {
      const host = `svc${i}.scale.svc.cluster.local`;
      const endpoints = Array.from({ length: 25 }, (_, j) => `  - address: 10.${i}.0.${j}\n    labels: {version: v${j % 2}}\n`).join('');
      return `apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  hosts: [${host}]\n  resolution: STATIC\n  ports: [{number: 9090, name: tcp-thrift, protocol: TCP}]\n  endpoints:\n${endpoints}---
apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  host: ${host}\n  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}, outlierDetection: {consecutive5xxErrors: 3, interval: 5s}}\n  subsets:\n  - {name: v0, labels: {version: v0}}\n  - {name: v1, labels: {version: v1}}\n---
apiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: MetaRouter\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  hosts: [${host}]\n  routes:\n  - name: v1\n    match: {attributes: {method: {prefix: get}}}\n    route: [{destination: {host: ${host}, subset: v1}, weight: 30}, {destination: {host: ${host}, subset: v0}, weight: 70}]\n`;
    }).join('---\n');
    const configs: ConfigSource[][] = [
      [{ file: 'generated.yaml', text: generated }],
      ...['examples/thrift-canary', 'examples/dubbo-canary'].map((dir) => yamlFiles(path.join(ROOT, dir)).map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }))),
      [{ file: 'extra.yaml', text: fs.readFileSync(path.join(ROOT, 'test/fixtures/config/extra-services.yaml'), 'utf8') }],
    ];
    for (const sources of configs) {
      assert.ok(sources.length > 0);
      const slow = outcome(sources, false);
      assert.notEqual(typeof slow, 'string', 'a valid config');
      assert.deepStrictEqual(outcome(sources, true), slow, sources[0]!.file);
    }
    assert.deepEqual(stood, [true, true, true, true], 'the fast path stood for each');
  });

  it('gives the positioned result for fixtures with warnings or problems', () => {
    for (const dir of ['test/fixtures/config/thrift-demo', 'test/fixtures/aeraki-e2e/metaprotocol']) {
      const sources = yamlFiles(path.join(ROOT, dir)).map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }));
      assert.deepStrictEqual(outcome(sources, true), outcome(sources, false), dir);
    }
    assert.deepEqual(stood, [true, true], 'lines found from each document with a message, not by reading the files again');
  });

  it('reports problems exactly as the positioned path does, with their lines', () => {
    const cases = [
      `${SERVICE}---\n${router('    - name: bad\n      match: {attributes: {method: {exact: add}}}\n      route: [{destination: {host: nowhere.demo.svc.cluster.local}}]\n')}`,
      `${SERVICE}---\n${router('    - name: typo\n      mtach: {}\n      route: [{destination: {host: calc}}]\n')}`,
      `${SERVICE}\nspec: {hosts: [a, b]}\n`, // a duplicate key: js-yaml refuses it, the positioned path names the line
      'kind: [unclosed\n',
      `${SERVICE}---\napiVersion: example.com/v1\nkind: Other\nmetadata: {name: x}\n`, // a warning only
      `# leading comment\n\n${SERVICE}---\n---\n# between\n${SERVICE}`, // defined twice: the message names the first one's line
      `---\napiVersion: example.com/v1\nkind: Other\nmetadata: {name: x}\n---\n\n${SERVICE.replace('- number: 9091', "- number: '9091'")}`, // a field of a list item, a document down
    ];
    for (const text of cases) {
      const sources = [{ file: 'big.yaml', text }];
      const slow = outcome(sources, false);
      assert.deepStrictEqual(outcome(sources, true), slow);
      if (typeof slow === 'string') assert.match(slow, /big\.yaml:\d+/, 'the message points at a line');
    }
    // A duplicate key and a syntax error are for the positioned reader to describe; the others keep the fast read.
    assert.deepEqual(stood, [true, true, false, false, true, true, true]);
  });

  it('reports a problem or warning in a value repeated at many places (read once, shared) at each place, as the positioned path does', () => {
    const endpoints = (item: (j: number) => string) => Array.from({ length: 12 }, (_, j) => item(j)).join('');
    const service = (body: string) =>
      `apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: calc}\nspec:\n  hosts: [calc.demo.svc.cluster.local]\n  resolution: STATIC\n  ports: [{number: 9090, name: tcp-thrift}]\n  endpoints:\n${body}`;
    const subsets = (n: number, policy: string) =>
      `apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: calc}\nspec:\n  host: calc.demo.svc.cluster.local\n  subsets:\n${Array.from({ length: n }, (_, i) => `  - name: s${i}\n    labels: {version: v1}\n    trafficPolicy: ${policy}\n`).join('')}`;
    const cases = [
      // A label that is not a string, the same flow text at every endpoint (and one clean set between).
      service(endpoints((j) => `  - address: 10.0.0.${j}\n    labels: ${j === 5 ? '{version: v1}' : '{version: 1}'}\n`)),
      // A port out of range, the same nested block at every endpoint.
      service(endpoints((j) => `  - address: 10.0.0.${j}\n    ports:\n      tcp-thrift: 99999\n    labels:\n      version: v1\n`)),
      // A field accepted but not enforced (a warning), the same policy text in every subset; then the same with a problem too.
      `${service(endpoints((j) => `  - address: 10.0.0.${j}\n    labels: {version: v1}\n`))}---\n${subsets(6, '{connectionPool: {http: {maxRequestsPerConnection: 1}}}')}`,
      `${service(endpoints((j) => `  - address: 10.0.0.${j}\n    labels: {version: v1}\n`))}---\n${subsets(6, '{connectionPool: {http: {maxRequestsPerConnection: 1, maxRetries: -1}}}')}`,
    ];
    for (const text of cases) {
      const sources = [{ file: 'big.yaml', text }];
      const slow = outcome(sources, false);
      const fast = outcome(sources, true);
      assert.deepStrictEqual(fast, slow);
      const snapshot = slow as { warnings?: readonly string[] };
      const messages = typeof slow === 'string' ? slow : (snapshot.warnings ?? []).join('\n');
      assert.ok((messages.match(/big\.yaml:\d+/g) ?? []).length >= 6, `a message at each place:\n${messages}`);
    }
    assert.deepEqual(stood, [true, true, true, true]);
  });

  it('reads anchors and aliases the positioned way (alias limits apply)', () => {
    const text = `${SERVICE.replace('labels: {version: v1}', 'labels: &v1 {version: v1}')}`.replace('labels: {version: v2}\n---', 'labels: *v1\n---');
    assert.deepStrictEqual(outcome([{ file: 'a.yaml', text }], true), outcome([{ file: 'a.yaml', text }], false));
  });
});
