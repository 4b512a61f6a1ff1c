import { strict as assert } from 'node:assert';
import { parseConfig, Metadata, MeshError } from 'meta-mesh';
import { Authorizer, type AuthzRequest, type AuthzWorkload } from '../../lib/security/authorizer';

const WORKLOAD: AuthzWorkload = { namespace: 'shop', labels: { app: 'calc', version: 'v1' }, rootNamespace: 'istio-system' };

function policies(yaml: string) {
  return parseConfig([{ file: 'p.yaml', text: yaml }]).security!.authorizationPolicies;
}

function authorizer(yaml: string, workload = WORKLOAD): Authorizer {
  return Authorizer.compile(policies(yaml), workload);
}

function policy(name: string, spec: string, namespace = 'shop', kind = 'AuthorizationPolicy', api = 'security.istio.io/v1'): string {
  return `---\napiVersion: ${api}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}\n`;
}

function request(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return {
    principal: 'cluster.local/ns/front/sa/web',
    namespace: 'front',
    ip: '10.1.2.3',
    port: 9090,
    protocol: 'thrift',
    method: 'add',
    metadata: new Metadata({ method: 'add' }),
    ...over,
  };
}

describe('Authorizer (AuthorizationPolicy semantics)', () => {
  it('allows everything when no policy applies, and denies everything under an ALLOW policy with no rules', () => {
    assert.equal(authorizer('').check(request()).allowed, true);
    const nothing = authorizer(policy('allow-nothing', '  action: ALLOW'));
    assert.equal(nothing.check(request()).allowed, false);
    const everything = authorizer(policy('allow-all', '  rules: [{}]'));
    assert.equal(everything.check(request()).allowed, true);
  });

  it('ALLOW by principal (with or without spiffe://, exact, prefix, suffix), default deny otherwise', () => {
    const a = authorizer(policy('p', '  rules:\n  - from:\n    - source:\n        principals: ["spiffe://cluster.local/ns/front/sa/web", "cluster.local/ns/ops/*", "*/sa/admin"]'));
    assert.equal(a.check(request()).allowed, true);
    assert.equal(a.check(request({ principal: 'cluster.local/ns/ops/sa/x' })).allowed, true);
    assert.equal(a.check(request({ principal: 'td/ns/any/sa/admin' })).allowed, true);
    assert.equal(a.check(request({ principal: 'cluster.local/ns/front/sa/other' })).allowed, false);
    assert.equal(a.check(request({ principal: '' })).allowed, false, 'plaintext calls have no principal');
  });

  it('an indexed rule still checks everything its index key does not prove (operation, other source fields, conditions)', () => {
    const a = authorizer(
      policy(
        'p',
        `  rules:
  - from: [{source: {namespaces: [front]}}]
    to: [{operation: {methods: [add]}}]
  - from: [{source: {principals: [cluster.local/ns/ops/sa/admin], ipBlocks: [10.0.0.0/8]}}]
  - from: [{source: {principals: [cluster.local/ns/batch/sa/job]}}]
    when: [{key: "request.headers[x-tenant]", values: [t1]}]`,
      ),
    );
    assert.equal(a.check(request()).allowed, true, 'namespace key + method');
    assert.equal(a.check(request({ method: 'sub' })).allowed, false, 'the namespace key does not prove the method');
    assert.equal(a.check(request({ principal: 'cluster.local/ns/ops/sa/admin', namespace: 'ops' })).allowed, true);
    assert.equal(a.check(request({ principal: 'cluster.local/ns/ops/sa/admin', namespace: 'ops', ip: '192.168.0.1' })).allowed, false, 'the principal key does not prove ipBlocks');
    const job = { principal: 'cluster.local/ns/batch/sa/job', namespace: 'batch' };
    assert.equal(a.check(request({ ...job, metadata: new Metadata({ 'x-tenant': 't1' }) })).allowed, true);
    assert.equal(a.check(request({ ...job, metadata: new Metadata({ 'x-tenant': 't2' }) })).allowed, false, 'nor the when conditions');
  });

  it('DENY wins over ALLOW; a DENY with notPrincipals ["*"] refuses calls without mTLS', () => {
    const a = authorizer(
      policy('allow', '  rules: [{}]') +
        policy('deny-plain', '  action: DENY\n  rules:\n  - from:\n    - source:\n        notPrincipals: ["*"]') +
        policy('deny-ns', '  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["dev"]'),
    );
    assert.equal(a.check(request()).allowed, true);
    const plain = a.check(request({ principal: '', namespace: '' }));
    assert.deepEqual([plain.allowed, plain.policy], [false, 'AuthorizationPolicy shop/deny-plain']);
    assert.deepEqual(a.check(request({ principal: 'cluster.local/ns/dev/sa/x', namespace: 'dev' })).policy, 'AuthorizationPolicy shop/deny-ns');
  });

  it('AUDIT never changes the decision but reports the match', () => {
    const a = authorizer(policy('audit', '  action: AUDIT\n  rules:\n  - to:\n    - operation:\n        methods: ["add"]'));
    const d = a.check(request());
    assert.equal(d.allowed, true);
    assert.deepEqual(d.audited, ['AuthorizationPolicy shop/audit']);
    assert.equal(a.check(request({ method: 'sub' })).audited, undefined);
  });

  it('matches ipBlocks and notIpBlocks (IPv4 CIDR, IPv4-mapped IPv6, IPv6)', () => {
    const a = authorizer(policy('p', '  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"]\n        notIpBlocks: ["10.9.0.0/16"]'));
    assert.equal(a.check(request({ ip: '10.1.2.3' })).allowed, true);
    assert.equal(a.check(request({ ip: '::ffff:10.1.2.3' })).allowed, true);
    assert.equal(a.check(request({ ip: '10.9.1.1' })).allowed, false);
    assert.equal(a.check(request({ ip: '192.168.1.7' })).allowed, true);
    assert.equal(a.check(request({ ip: '192.168.1.8' })).allowed, false);
    assert.equal(a.check(request({ ip: '2001:db8::1' })).allowed, true);
    assert.equal(a.check(request({ ip: '2001:db9::1' })).allowed, false);
  });

  it('matches methods, notMethods, ports and notPorts (ports given as strings, as Istio writes them)', () => {
    const a = authorizer(policy('p', '  rules:\n  - to:\n    - operation:\n        methods: ["Calculator/*", "ping"]\n        notMethods: ["Calculator/drop"]\n        ports: ["9090"]\n        notPorts: [9091]'));
    assert.equal(a.check(request({ method: 'Calculator/add' })).allowed, true);
    assert.equal(a.check(request({ method: 'ping' })).allowed, true);
    assert.equal(a.check(request({ method: 'Calculator/drop' })).allowed, false);
    assert.equal(a.check(request({ method: 'add' })).allowed, false);
    assert.equal(a.check(request({ method: 'ping', port: 9091 })).allowed, false);
  });

  it('evaluates when conditions on source.*, destination.port and request.headers[...] (the call metadata)', () => {
    const a = authorizer(
      policy(
        'p',
        '  rules:\n  - when:\n    - key: source.namespace\n      values: ["front"]\n    - key: source.ip\n      notValues: ["10.9.0.0/16"]\n    - key: request.headers[X-Tenant]\n      values: ["gold", "silver"]\n    - key: destination.port\n      values: ["9090"]',
      ),
    );
    const md = (tenant?: string) => new Metadata(tenant === undefined ? {} : { 'x-tenant': tenant });
    assert.equal(a.check(request({ metadata: md('gold') })).allowed, true);
    assert.equal(a.check(request({ metadata: md('bronze') })).allowed, false);
    assert.equal(a.check(request({ metadata: md() })).allowed, false);
    assert.equal(a.check(request({ metadata: md('gold'), ip: '10.9.0.1' })).allowed, false);
    assert.equal(a.check(request({ metadata: md('gold'), namespace: 'dev' })).allowed, false);
  });

  it('chooses policies as Istio does: own namespace, root namespace, selector labels', () => {
    const yaml =
      policy('mesh-wide', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["drop"]', 'istio-system') +
      policy('other-ns', '  action: ALLOW', 'billing') +
      policy('for-v2', '  action: ALLOW\n  selector:\n    matchLabels: {app: calc, version: v2}');
    const a = authorizer(yaml);
    assert.equal(a.check(request({ method: 'add' })).allowed, true, 'the billing and v2 ALLOW policies do not select this workload');
    assert.equal(a.check(request({ method: 'drop' })).allowed, false);
    const v2 = authorizer(yaml, { ...WORKLOAD, labels: { app: 'calc', version: 'v2' } });
    assert.equal(v2.check(request({ method: 'add' })).allowed, false, 'the ALLOW policy with no rules selects v2');
  });

  it('applies DubboAuthorizationPolicy to Dubbo calls only, with interfaces and bare methods as Aeraki does', () => {
    const a = authorizer(
      policy(
        'dubbo',
        '  action: ALLOW\n  rules:\n  - from:\n    - source:\n        namespaces: ["front"]\n    to:\n    - operation:\n        interfaces: ["org.example.DemoService"]\n        methods: ["sayHello"]',
        'shop',
        'DubboAuthorizationPolicy',
        'dubbo.aeraki.io/v1alpha1',
      ),
    );
    const dubbo = (iface: string, method: string, namespace = 'front') =>
      request({ protocol: 'dubbo', namespace, method: `${iface}/${method}`, metadata: new Metadata({ interface: iface, method }) });
    assert.equal(a.check(dubbo('org.example.DemoService', 'sayHello')).allowed, true);
    assert.equal(a.check(dubbo('org.example.DemoService', 'add')).allowed, false);
    assert.equal(a.check(dubbo('org.example.Other', 'sayHello')).allowed, false);
    assert.equal(a.check(dubbo('org.example.DemoService', 'sayHello', 'dev')).allowed, false);
    assert.equal(a.check(request()).allowed, true, 'a Thrift call is not governed by a Dubbo policy');
  });

  it('requires both the Istio and the Dubbo ALLOW policies to allow a Dubbo call', () => {
    const a = authorizer(
      policy('istio', '  rules:\n  - from:\n    - source:\n        namespaces: ["front"]') +
        policy('dubbo', '  rules:\n  - to:\n    - operation:\n        methods: ["sayHello"]', 'shop', 'DubboAuthorizationPolicy', 'dubbo.aeraki.io/v1alpha1'),
    );
    const call = (method: string, namespace: string) => request({ protocol: 'dubbo', namespace, metadata: new Metadata({ interface: 'I', method }) });
    assert.equal(a.check(call('sayHello', 'front')).allowed, true);
    assert.equal(a.check(call('add', 'front')).allowed, false);
    assert.equal(a.check(call('sayHello', 'dev')).allowed, false);
  });
});

describe('security manifests: what cannot be enforced is refused, naming the field', () => {
  const refused = (yaml: string, pattern: RegExp) =>
    assert.throws(
      () => parseConfig([{ file: 'p.yaml', text: yaml }]),
      (err: unknown) => err instanceof MeshError && pattern.test(err.message),
    );

  it('refuses CUSTOM, targetRef and HTTP/JWT-only fields', () => {
    refused(policy('c', '  action: CUSTOM\n  provider: {name: ext}'), /spec\.action: CUSTOM .* not supported/);
    refused(policy('t', '  targetRef: {kind: Gateway, name: gw}'), /spec\.targetRef: 'targetRef' is not supported/);
    refused(policy('j', '  rules:\n  - from:\n    - source:\n        requestPrincipals: ["*"]'), /spec\.rules\[0\]\.from\[0\]\.source\.requestPrincipals: .*RequestAuthentication/);
    refused(policy('h', '  rules:\n  - to:\n    - operation:\n        paths: ["/x"]'), /operation\.paths: .*use methods/);
    refused(policy('w', '  rules:\n  - when:\n    - key: request.auth.claims[iss]\n      values: ["x"]'), /when\[0\]\.key: condition key 'request\.auth\.claims\[iss\]' is not supported/);
    refused(policy('i', '  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/40"]'), /ipBlocks\[0\]: '10\.0\.0\.0\/40' is not an IP address or CIDR/);
    refused(policy('m', '  rules:\n  - to:\n    - operation:\n        methods: ["a*b"]'), /methods\[0\]: 'a\*b' puts '\*' in the middle/);
  });

  it('refuses MUTUAL without a certificate, credentialName, and workload files with ISTIO_MUTUAL', () => {
    const dr = (tls: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: s}
spec:
  hosts: [calc.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: calc.svc
  trafficPolicy:
${tls}
`;
    refused(dr('    tls: {mode: MUTUAL, caCertificates: /ca.pem}'), /spec\.trafficPolicy\.tls\.clientCertificate: mode MUTUAL needs clientCertificate and privateKey/);
    refused(dr('    tls: {mode: SIMPLE, credentialName: secret}'), /tls\.credentialName: credentialName names a Kubernetes secret/);
    refused(dr('    portLevelSettings:\n    - port: {number: 9090}\n      tls: {mode: ISTIO_MUTUAL, privateKey: /k.pem}'), /portLevelSettings\[0\]\.tls\.privateKey: privateKey must not be set with ISTIO_MUTUAL/);
    const plain = parseConfig([{ file: 'p.yaml', text: dr('    tls: {mode: DISABLE}') }]);
    assert.equal([...plain.clusters.values()][0]!.tls, undefined);
  });

  it('refuses portLevelMtls without a selector and a port that is not a number', () => {
    const pa = (spec: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa, namespace: shop}\nspec:\n${spec}\n`;
    refused(pa('  portLevelMtls:\n    "9090": {mode: DISABLE}'), /spec\.portLevelMtls: portLevelMtls needs a selector/);
    refused(pa('  selector: {matchLabels: {app: a}}\n  portLevelMtls:\n    http: {mode: DISABLE}'), /spec\.portLevelMtls\.http: 'http' is not a port number/);
  });
});
