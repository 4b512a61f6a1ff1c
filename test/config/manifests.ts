// Small manifests for the loader tests: a calculator service with v1/v2
// subsets, and a helper that returns the problems a config is rejected with.

import assert from 'node:assert/strict';
import { ConfigError, ConfigProblem, ConfigSource, Snapshot, parseConfig } from '../../lib/config';

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
  return all[0];
}

function sources(texts: string[]): ConfigSource[] {
  return texts.map((text, i) => ({ file: `${String.fromCharCode(97 + i)}.yaml`, text }));
}
