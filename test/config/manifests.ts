// Small manifests for the loader tests: a calculator service with v1/v2
// subsets, and a helper that returns the problems a config is rejected with.

import assert from 'node:assert/strict';
import { ConfigError, ConfigProblem, ConfigSource, Snapshot, parseConfig } from '../../lib/config';
import { defined } from '../support/defined';

export const CALC = 'calc.demo.svc.cluster.local';

export const SERVICE = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: calc
spec:
  hosts: [${CALC}]
  resolution: STATIC
  ports:
    - number: 9090
      name: tcp-metaprotocol-thrift-calc
    - number: 9091
      name: tcp-metaprotocol-thrift-admin
  endpoints:
    - address: 10.0.0.1
      labels: {version: v1}
    - address: 10.0.0.2
      labels: {version: v2}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: calc
spec:
  host: ${CALC}
  subsets:
    - name: v1
      labels: {version: v1}
    - name: v2
      labels: {version: v2}
`;

/** A MetaRouter for CALC whose routes are the given YAML (indented under `routes:`). */
export function router(routes: string, name = 'calc-route'): string {
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: ${name}
spec:
  hosts: [${CALC}]
  routes:
${routes}`;
}

export function parse(...texts: string[]): Snapshot {
  return parseConfig(sources(texts));
}

/** The problems parseConfig reports for these files (named a.yaml, b.yaml, ...). */
export function problems(...texts: string[]): ConfigProblem[] {
  try {
    parseConfig(sources(texts));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  assert.fail('expected parseConfig to throw a ConfigError');
}

/** The one problem parseConfig reports; fails when there are none or several. */
export function problem(...texts: string[]): ConfigProblem {
  const all = problems(...texts);
  assert.equal(all.length, 1, `expected one problem, got:\n${all.map((p) => JSON.stringify(p)).join('\n')}`);
  return defined(all[0], 'a problem');
}

function sources(texts: string[]): ConfigSource[] {
  return texts.map((text, i) => ({ file: `${String.fromCharCode(97 + i)}.yaml`, text }));
}

/**
 * A generated mesh of `services` services with `endpoints` endpoints each, in
 * the kinds and shapes large configs have: inline endpoints (flow and block
 * style, ports, locality, weight), WorkloadEntries picked by a
 * workloadSelector, DestinationRules with subsets and policies, MetaRouters.
 */
export function generatedMesh(services: number, endpoints: number): string {
  const docs: string[] = [];
  for (let i = 0; i < services; i++) {
    const host = `svc${i}.scale.svc.cluster.local`;
    const name = `tcp-metaprotocol-thrift-s${i}`;
    if (i % 3 === 2) {
      docs.push(`apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  hosts: [${host}]\n  resolution: STATIC\n  ports: [{number: 9090, name: ${name}}]\n  workloadSelector:\n    labels: {app: svc${i}}\n`);
      for (let j = 0; j < endpoints; j++) {
        docs.push(`apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: svc${i}-${j}\n  namespace: scale\nspec:\n  address: 10.${i}.1.${j}\n  ports:\n    ${name}: ${19000 + j}\n  labels:\n    app: svc${i}\n    version: v${j % 2}\n  weight: ${1 + (j % 3)}\n  serviceAccount: sa${i}\n`);
      }
    } else {
      const eps = Array.from({ length: endpoints }, (_, j) =>
        j % 2 === 0
          ? `  - address: 10.${i}.0.${j}\n    ports:\n      ${name}: ${20000 + j}\n    labels:\n      version: v${j % 2}\n      "topology.kubernetes.io/zone": z${j % 3}\n    locality: region${i % 2}/zone${j % 3}\n`
          : `  - {address: "10.${i}.0.${j}", labels: {version: 'v${j % 2}'}, weight: ${j}}\n`,
      ).join('');
      docs.push(`apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: svc${i}\n  namespace: scale\n  labels: {team: t${i % 4}}\nspec:\n  hosts:\n  - ${host}\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n  - number: 9090\n    name: ${name}\n    protocol: TCP\n  - {number: 9091, name: tcp-admin, targetPort: 19091}\n  endpoints:\n${eps}`);
    }
    docs.push(`# the rule for svc${i}\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  host: ${host}\n  trafficPolicy:\n    loadBalancer: {simple: LEAST_REQUEST}\n    connectionPool: {tcp: {maxConnections: 100, connectTimeout: 250ms}}\n    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}\n  subsets:\n  - {name: v0, labels: {version: v0}}\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: user}}}\n`);
    docs.push(`apiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: MetaRouter\nmetadata: {name: svc${i}, namespace: scale}\nspec:\n  hosts: [${host}]\n  routes:\n  - name: v1\n    match: {attributes: {method: {regex: "get.*"}}}\n    route: [{destination: {host: ${host}, subset: v1}, weight: 30}, {destination: {host: ${host}, subset: v0}, weight: 70}]\n    timeout: 2s\n  - name: rest\n    route:\n    - destination: {host: ${host}, subset: v0}\n`);
  }
  return docs.join('---\n');
}
