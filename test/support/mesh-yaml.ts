// Writes mesh manifests for tests: a ServiceEntry with versioned endpoints, a
// DestinationRule with one subset per version, and an optional MetaRouter.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestEndpoint {
  readonly port: number;
  readonly version: string;
  readonly address?: string;
}

export interface TestMesh {
  readonly host: string;
  readonly port: number;
  readonly endpoints: readonly TestEndpoint[];
  /** The MetaRouter's `routes:` list, YAML indented by 4 spaces; omitted = no MetaRouter. */
  readonly routes?: string | undefined;
}

export function meshYaml(mesh: TestMesh): string {
  const versions = [...new Set(mesh.endpoints.map((e) => e.version))];
  const endpoints = mesh.endpoints
    .map((e) => `    - address: ${e.address ?? '127.0.0.1'}\n      ports:\n        tcp-metaprotocol-thrift: ${e.port}\n      labels:\n        version: ${e.version}`)
    .join('\n');
  const subsets = versions.map((v) => `    - name: ${v}\n      labels:\n        version: ${v}`).join('\n');
  let yaml = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: svc
spec:
  hosts: [${mesh.host}]
  ports:
    - number: ${mesh.port}
      name: tcp-metaprotocol-thrift
      protocol: TCP
  resolution: STATIC
  endpoints:
${endpoints.length > 0 ? endpoints : '    []'}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: svc
spec:
  host: ${mesh.host}
  subsets:
${subsets.length > 0 ? subsets : '    []'}
`;
  if (mesh.routes !== undefined) {
    yaml += `---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: svc
spec:
  hosts: [${mesh.host}]
  routes:
${mesh.routes}
`;
  }
  return yaml;
}

/** A fresh temp dir per call; the file is `mesh.yaml` inside it. */
export function writeMeshYaml(mesh: TestMesh, file?: string): string {
  if (file === undefined) return writeYamlFile(meshYaml(mesh));
  fs.writeFileSync(file, meshYaml(mesh));
  return file;
}

/** Writes `yaml` to `mesh.yaml` in a fresh temp dir; returns the file. */
export function writeYamlFile(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-test-')), 'mesh.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/**
 * One Thrift service with one endpoint on 127.0.0.1:`port` (service port 9090)
 * and its DestinationRule; `trafficPolicy` is a YAML flow mapping, omitted = none.
 */
export function oneEndpointYaml(host: string, port: number, trafficPolicy?: string): string {
  const name = host.split('.')[0]!;
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${host}]
  ports: [{ number: 9090, name: tcp-metaprotocol-thrift, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp-metaprotocol-thrift: ${port} } }]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: ${name} }
spec:
  host: ${host}
${trafficPolicy === undefined ? '' : `  trafficPolicy: ${trafficPolicy}\n`}`;
}

/** A destination block for a MetaRouter route (4-space list indentation). */
export function destination(host: string, subset: string, weight?: number): string {
  return `        - destination:\n            host: ${host}\n            subset: ${subset}${weight === undefined ? '' : `\n          weight: ${weight}`}`;
}
