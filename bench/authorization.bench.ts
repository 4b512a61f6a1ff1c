// Authorization cost per call (issue 18 target: ≤ 200 ns for 50 rules):
// Authorizer.check over 50 AuthorizationPolicy rules (principals, namespaces,
// IP blocks, methods, ports, a `when` on metadata), for a call that matches
// the last ALLOW rule and one that matches none (rules on exact principals,
// namespaces or methods are indexed, so not every rule is evaluated),
// and a call the DENY policy refuses.
// Run: node dist/bench/authorization.bench.js (prints figures, asserts nothing).
import * as os from 'node:os';
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

/** ns per call of `fn` over one timed run (after its warm-up in the first round). */
function timeOnce(fn: () => boolean): number {
  const n = quick ? 300_000 : 1_000_000;
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn() ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - start) / n;
  return sink >= 0 ? ns : NaN;
}

/**
 * Rounds interleave the cases so a loaded machine slows them alike; the minimum over rounds is the
 * least disturbed figure, and the ratio to one Map.get through a call (timed the same way) is the
 * machine-independent one.
 */
function measureAll(cases: readonly { label: string; fn: () => boolean; expect: boolean }[]): void {
  const rounds = quick ? 3 : 7;
  const times = cases.map(() => [] as number[]);
  for (const c of cases) for (let i = 0; i < 200_000; i++) c.fn();
  for (let round = 0; round < rounds; round++) cases.forEach((c, i) => times[i]!.push(timeOnce(c.fn)));
  const min = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const unit = min(times[0]!);
  cases.forEach((c, i) => {
    const ok = c.fn() === c.expect;
    console.log(
      `${c.label.padEnd(58)} min ${min(times[i]!).toFixed(1).padStart(6)} ns  median ${median(times[i]!).toFixed(1).padStart(6)} ns  ${(min(times[i]!) / unit).toFixed(1).padStart(5)}× a Map.get ${ok ? '' : '(unexpected decision!)'}`,
    );
  });
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
const map = new Map([['cluster.local/ns/front/sa/web', 1]]);
const lookup = (k: string) => map.get(k) === 1;
const denyRequest = { ...base, namespace: 'dev' };
const noMatch = { ...base, namespace: 'other', principal: 'cluster.local/ns/other/sa/x' };
console.log(`${RULES} ALLOW rules + 1 DENY policy; ${os.loadavg()[0]!.toFixed(1)} load average on ${os.cpus().length} cores`);
measureAll([
  { label: 'one Map.get through a call, for scale', fn: () => lookup(base.principal), expect: true },
  { label: 'allowed by the 50th rule (namespace + method prefix)', fn: () => authorizer.check(base).allowed, expect: true },
  { label: 'denied: no rule matches', fn: () => authorizer.check(noMatch).allowed, expect: false },
  { label: 'denied by the DENY policy (first checked)', fn: () => authorizer.check(denyRequest).allowed, expect: false },
]);
