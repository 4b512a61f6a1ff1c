// Every kind of config problem names the file, line, document and field, and
// says what to change; all problems of all files come back in one ConfigError.

import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../lib/config';
import { MeshError } from '../../lib/protocol';
import { CALC, SERVICE, problem, problems, router } from './manifests';
import { defined } from '../support/defined';

// Line k of the router document in "SERVICE---\nrouter(...)": SERVICE ends with a newline, then '---'.
const routerLine = (k: number) => SERVICE.split('\n').length + k;
const withRouter = (routes: string) => `${SERVICE}---\n${router(routes)}`;
const DOC3 = 'MetaRouter default/calc-route (document 3)';

describe('config problems', () => {
  it('names an unknown field with a did-you-mean and the allowed fields', () => {
    const p = problem(
      withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
          weigth: 80
        - destination: {host: ${CALC}, subset: v2}
          weight: 20
`),
    );
    assert.deepEqual(p, {
      file: 'a.yaml',
      line: routerLine(10),
      document: DOC3,
      field: 'spec.routes[0].route[0].weigth',
      message: "unknown field 'weigth'; did you mean 'weight'? allowed: destination, weight",
    });
  });

  it('rejects a quoted number, a negative port and an out-of-range percentage', () => {
    const all = problems(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bad, namespace: shop}
spec:
  hosts: [a.example]
  ports:
    - number: "9090"
      name: tcp-a
    - number: -1
      name: tcp-b
`, withRouter(`    - route:
        - destination: {host: ${CALC}}
      mirror: {host: ${CALC}}
      mirrorPercentage: {value: 150}
`));
    assert.deepEqual(
      all.map((p) => [p.file, p.line, p.document, p.field, p.message]),
      [
        ['a.yaml', 7, 'ServiceEntry shop/bad (document 1)', 'spec.ports[0].number', "expected an integer, got the string '9090'; remove the quotes"],
        ['a.yaml', 9, 'ServiceEntry shop/bad (document 1)', 'spec.ports[1].number', 'must be between 1 and 65535, got -1'],
        ['b.yaml', routerLine(11), DOC3, 'spec.routes[0].mirrorPercentage.value', 'must be between 0 and 100, got 150'],
      ],
    );
  });

  it('rejects a weight that is not a whole number', () => {
    const p = problem(
      withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
          weight: 2.5
        - destination: {host: ${CALC}, subset: v2}
          weight: 1
`),
    );
    assert.equal(p.field, 'spec.routes[0].route[0].weight');
    assert.equal(p.line, routerLine(10));
    assert.equal(p.message, 'expected an integer, got 2.5; use a whole number');
  });

  it('names a destination host that no ServiceEntry declares, suggesting the close one', () => {
    const p = problem(withRouter(`    - route:\n        - destination: {host: calc.demo.svc.cluster.lcoal}\n`));
    assert.equal(p.field, 'spec.routes[0].route[0].destination.host');
    assert.equal(p.line, routerLine(9));
    assert.equal(
      p.message,
      `host 'calc.demo.svc.cluster.lcoal' is not declared by any ServiceEntry; did you mean '${CALC}'? declared hosts: ${CALC}`,
    );
  });

  it('names both the subset and the host when the DestinationRule lacks the subset', () => {
    const p = problem(withRouter(`    - route:\n        - destination: {host: ${CALC}, subset: v3}\n`));
    assert.equal(p.field, 'spec.routes[0].route[0].destination.subset');
    assert.equal(p.message, `subset 'v3' of host '${CALC}' is not declared by its DestinationRule; declared subsets: v1, v2`);
  });

  it('names the host when no DestinationRule declares subsets for it', () => {
    const se = SERVICE.split('---')[0];
    const p = problem(`${se}---\n${router(`    - route:\n        - destination: {host: ${CALC}, subset: v1}\n`)}`);
    assert.equal(p.document, 'MetaRouter default/calc-route (document 2)');
    assert.match(p.message, new RegExp(`^subset 'v1' of host '${CALC}' is not declared: no DestinationRule has host`));
  });

  it('rejects a destination port the service does not have', () => {
    const p = problem(withRouter(`    - route:\n        - destination: {host: ${CALC}, port: {number: 8080}}\n`));
    assert.equal(p.field, 'spec.routes[0].route[0].destination.port.number');
    assert.equal(p.message, `host '${CALC}' has no port 8080; its ports: 9090, 9091`);
  });

  it('rejects a split whose weights add up to 0', () => {
    const p = problem(
      withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
          weight: 0
        - destination: {host: ${CALC}, subset: v2}
          weight: 0
`),
    );
    assert.equal(p.field, 'spec.routes[0].route');
    assert.match(p.message, /^weights add up to 0/);
  });

  it('rejects a second MetaRouter for the same host, pointing at the first', () => {
    const one = `    - route:\n        - destination: {host: ${CALC}}\n`;
    const p = problem(`${SERVICE}---\n${router(one)}`, router(one, 'calc-route-2'));
    assert.equal(p.file, 'b.yaml');
    assert.equal(p.line, 6);
    assert.equal(p.document, 'MetaRouter default/calc-route-2 (document 1)');
    assert.equal(p.field, 'spec.hosts[0]');
    assert.equal(
      p.message,
      `host '${CALC}' is already routed by ${DOC3} at a.yaml:${routerLine(6)}; put all routes for a host in one MetaRouter`,
    );
  });

  it('rejects lookaround and backreferences because the reference runs RE2', () => {
    const all = problems(
      withRouter(`    - match:
        attributes:
          method: {regex: "(?!admin).*"}
          user: {regex: "(a)\\\\1"}
          group: {regex: "([a-z"}
      route:
        - destination: {host: ${CALC}}
`),
    );
    assert.deepEqual(all.map((p) => p.field), [
      'spec.routes[0].match.attributes.method.regex',
      'spec.routes[0].match.attributes.user.regex',
      'spec.routes[0].match.attributes.group.regex',
    ]);
    assert.match(defined(all[0], 'problem 1').message, /uses a lookahead \(\?!, which RE2 .* does not support/);
    assert.match(defined(all[1], 'problem 2').message, /uses a backreference \(\\1\), which RE2/);
    assert.match(defined(all[2], 'problem 3').message, /^regex '\(\[a-z' does not compile in RE2 \(the regex engine of Envoy and Aeraki\): missing closing \]: .*; write it in RE2 syntax$/);
    assert.equal(all[0]?.line, routerLine(10));
  });

  it('rejects an enum value with a suggestion, and two members of one oneof', () => {
    const all = problems(
      SERVICE.replace(
        '  subsets:',
        `  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBN
  subsets:
    - name: v0
      trafficPolicy:
        loadBalancer:
          simple: RANDOM
          consistentHash: {httpHeaderName: user}`,
      ),
    );
    assert.deepEqual(
      all.map((p) => [p.field, p.message]),
      [
        [
          'spec.trafficPolicy.loadBalancer.simple',
          "'ROUND_ROBN' is not allowed; did you mean 'ROUND_ROBIN'? allowed: UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST",
        ],
        ['spec.subsets[0].trafficPolicy.loadBalancer', "sets 'simple' and 'consistentHash'; set only one of simple, consistentHash"],
      ],
    );
  });

  it('reports missing required fields and a bad duration', () => {
    const all = problems(
      withRouter(`    - route:
        - destination: {subset: v1}
      timeout: 5
      retries: {perTryTimeout: 1x}
`),
    );
    assert.deepEqual(
      all.map((p) => [p.field, p.message]),
      [
        ['spec.routes[0].route[0].destination.host', "missing required field 'host'"],
        ['spec.routes[0].timeout', 'expected a duration string, got the number 5; write a number with a unit, such as 500ms, 1s, 1.5s, 2m or 1h'],
        ['spec.routes[0].retries.perTryTimeout', "'1x' is not a duration; write a number with a unit, such as 500ms, 1s, 1.5s, 2m or 1h"],
        ['spec.routes[0].retries.attempts', "missing required field 'attempts'"],
      ],
    );
  });

  it('rejects an unknown retry condition with a suggestion', () => {
    const p = problem(withRouter(`    - route:\n        - destination: {host: ${CALC}}\n      retries: {attempts: 1, retryOn: "connect-failure,rest"}\n`));
    assert.equal(p.field, 'spec.routes[0].retries.retryOn');
    assert.match(p.message, /^unknown retry condition 'rest'; did you mean 'reset'\? allowed: /);
  });

  it('reports YAML syntax errors with their line', () => {
    const p = problem(`apiVersion: v1\nkind: ServiceEntry\nkind: DestinationRule\n`);
    assert.equal(p.line, 3);
    assert.equal(p.document, 'document 1');
    assert.match(p.message, /^Map keys must be unique.*; fix the YAML syntax$/);
  });

  it('rejects a wrong apiVersion, a misspelt kind and a missing metadata.name', () => {
    const all = problems(`apiVersion: networking.istio.io/v2
kind: ServiceEntry
metadata: {name: x}
spec: {hosts: [x], ports: [{number: 1, name: tcp}]}
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRoute
metadata: {name: y}
spec: {}
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {namespace: z}
spec: {hosts: [x]}
`);
    assert.deepEqual(
      all.map((p) => [p.line, p.document, p.field, p.message]),
      [
        [1, 'ServiceEntry default/x (document 1)', 'apiVersion', "'networking.istio.io/v2' is not an apiVersion of ServiceEntry; use networking.istio.io/v1alpha3 or networking.istio.io/v1beta1 or networking.istio.io/v1"],
        [7, 'MetaRoute default/y (document 2)', 'kind', "unknown kind 'MetaRoute' in metaprotocol.aeraki.io; did you mean 'MetaRouter'?"],
        [13, 'MetaRouter z/(unnamed) (document 3)', 'metadata.name', "missing required field 'name'"],
      ],
    );
  });

  it('rejects the same object defined twice', () => {
    const p = problem(SERVICE, defined(SERVICE.split('---')[0]));
    assert.equal(p.file, 'b.yaml');
    assert.equal(p.field, 'metadata.name');
    assert.equal(p.message, 'ServiceEntry default/calc is defined twice (first at a.yaml:4); rename one or remove it');
  });

  it('collects the problems of every file into one ConfigError whose message lists them', () => {
    let caught: unknown;
    try {
      parseConfig([
        { file: 'one.yaml', text: `${SERVICE}---\n${router(`    - route:\n        - destination: {host: nowhere}\n`)}` },
        { file: 'two.yaml', text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: x, subsetz: []}\n' },
      ]);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ConfigError);
    assert.ok(caught instanceof MeshError);
    assert.equal(caught.code, 'CONFIG');
    assert.equal(caught.problems.length, 2);
    assert.equal(
      caught.message,
      [
        '2 problems in the mesh configuration:',
        `  one.yaml:${routerLine(9)}: ${DOC3}: spec.routes[0].route[0].destination.host: host 'nowhere' (nowhere.default.svc.cluster.local in namespace default) is not declared by any ServiceEntry; declared hosts: ${CALC}`,
        "  two.yaml:4: DestinationRule default/d (document 1): spec.subsetz: unknown field 'subsetz'; did you mean 'subsets'? allowed: host, trafficPolicy, subsets, exportTo, workloadSelector",
      ].join('\n'),
    );
  });

  it('does not treat another MeshError as a ConfigError', () => {
    assert.equal(new MeshError('CONFIG', 'x') instanceof ConfigError, false);
  });

  it('answers odd documents with problems or warnings, never a crash', () => {
    const odd = [
      '- just\n- a list\n',
      'plain scalar\n',
      'apiVersion: v1\nkind: constructor\nmetadata: {name: x}\n',
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: [h], ports: [{number: 1, name: p}], constructor: 1}\n',
      `${SERVICE}---\n${router(`    - match: {attributes: {__proto__: {exact: a}, toString: {prefix: b}}}\n      route: [{destination: {host: ${CALC}}}]\n`)}`,
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: []\nspec: 5\n',
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec:\n  hosts: h\n  ports: {number: 1}\n  endpoints: [1, null, {address: []}]\n',
      'a: &x [*x]\n',
      '{unclosed: [\n',
    ];
    for (const text of odd) {
      try {
        const snapshot = parseConfig([{ file: 'odd.yaml', text }]);
        assert.ok(Array.isArray(snapshot.warnings));
      } catch (err) {
        assert.ok(err instanceof ConfigError, `${text} threw ${String(err)}`);
        for (const p of err.problems) assert.equal(p.file, 'odd.yaml');
      }
    }
  });

  it('keeps attribute keys that collide with Object.prototype names', () => {
    const snapshot = parseConfig([
      { file: 'a.yaml', text: `${SERVICE}---\n${router(`    - match: {attributes: {__proto__: {exact: a}, constructor: {prefix: b}}}\n      route: [{destination: {host: ${CALC}}}]\n`)}` },
    ]);
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9090`)?.routes[0]?.match, [
      { name: '__proto__', kind: 'exact', value: 'a' },
      { name: 'constructor', kind: 'prefix', value: 'b' },
    ]);
  });
});
