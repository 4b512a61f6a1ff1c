// Authorization cost per call (issue 18 target: ≤ 200 ns for 50 rules):
// Authorizer.check over 50 AuthorizationPolicy rules (principals, namespaces,
// IP blocks, methods, ports, a `when` on metadata), for a call that matches
// the last ALLOW rule and one that matches none (rules on exact principals,
// namespaces or methods are indexed, so not every rule is evaluated),
// and a call the DENY policy refuses.
// Run: node dist/bench/authorization.bench.js (prints figures, asserts nothing).
import { parseConfig } from '../lib/config';
import { Metadata } from '../lib/protocol';
import { Authorizer, type AuthzRequest } from '../lib/security/authorizer';

const quick = process.env.BENCH_QUICK === '1';
const RULES = 50;

function policies(): string {
  const rules: string[] = [];
  for (let i = 0; i < RULES - 1; i++) {
    rules.push(`  - from:
    - source:
        principals: ["cluster.local/ns/team-${i}/sa/client", "cluster.local/ns/team-${i}/sa/batch"]
        ipBlocks: ["10.${i}.0.0/16"]
    to:
    - operation:
        methods: ["Calculator/op${i}", "op${i}"]
        ports: ["9090"]
    when:
    - key: request.headers[x-tenant]
      values: ["t${i}"]`);
  }
  rules.push(`  - from:
    - source:
        namespaces: ["front"]
    to:
    - operation:
        methods: ["Calculator/*"]`);
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-dev, namespace: shop}
spec:
  action: DENY
  rules:
  - from:
    - source:
        namespaces: ["dev"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: shop}
spec:
  rules:
${rules.join('\n')}
`;
}

function measure(label: string, authorizer: Authorizer, r: AuthzRequest, expect: boolean): void {
  const n = quick ? 500_000 : 3_000_000;
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += authorizer.check(r).allowed ? 1 : 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += authorizer.check(r).allowed ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - start) / n;
  const ok = authorizer.check(r).allowed === expect && sink > 0 === expect;
  console.log(`${label.padEnd(58)} ${ns.toFixed(1).padStart(7)} ns  ${ok ? '' : '(unexpected decision!)'}`);
}

const snapshot = parseConfig([{ file: 'bench.yaml', text: policies() }]);
const authorizer = Authorizer.compile(snapshot.security!.authorizationPolicies, { namespace: 'shop', labels: {}, rootNamespace: 'istio-system' });
const base: AuthzRequest = {
  principal: 'cluster.local/ns/front/sa/web',
  namespace: 'front',
  ip: '10.200.3.4',
  port: 9090,
  protocol: 'thrift',
  method: 'Calculator/add',
  metadata: new Metadata({ method: 'Calculator:add', 'x-tenant': 'none' }),
};
// For scale on a shared machine: one Map lookup through a function call, timed the same way.
{
  const map = new Map([['cluster.local/ns/front/sa/web', 1]]);
  const lookup = (k: string) => map.get(k) === 1;
  const n = quick ? 500_000 : 3_000_000;
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += lookup(base.principal) ? 1 : 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += lookup(base.principal) ? 1 : 0;
  console.log(`${'one Map.get through a call, for scale'.padEnd(58)} ${(Number(process.hrtime.bigint() - start) / n).toFixed(1).padStart(7)} ns  (${sink > 0 ? 'ok' : ''})`);
}
console.log(`${RULES} ALLOW rules + 1 DENY policy`);
measure('allowed by the 50th rule (namespace + method prefix)', authorizer, base, true);
measure('denied: no rule matches', authorizer, { ...base, namespace: 'other', principal: 'cluster.local/ns/other/sa/x' }, false);
measure('denied by the DENY policy (first checked)', authorizer, { ...base, namespace: 'dev' }, false);
