// Shared by the mutual TLS tests: a throwaway YAML file, a workload's identity
// option from its PKI files, and the client-side config of the calculator
// service (a static ServiceEntry, optionally a DestinationRule with `tls`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOST, PORT } from '../adapters/thrift/support';
import type { WorkloadFiles } from './spiffe-pki';

export function writeYaml(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-mtls-')), 'mesh.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

export function identity(w: WorkloadFiles) {
  return { certificateFile: w.certificateFile, privateKeyFile: w.privateKeyFile, caCertificateFile: w.caCertificateFile };
}

/**
 * A ServiceEntry for the calculator at `port` (or several ports, one endpoint each) run by service
 * account `sa`, and a DestinationRule with `tls` and any `more` trafficPolicy lines (indented 4).
 */
export function calcClientYaml(port: number | readonly number[], tlsYaml: string | undefined, sa = 'calc', more = ''): string {
  const endpoints = (typeof port === 'number' ? [port] : port)
    .map((p) => `  - address: 127.0.0.1\n    ports: {tcp-metaprotocol-thrift: ${p}}\n    serviceAccount: ${sa}\n`)
    .join('');
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: calc, namespace: shop}
spec:
  hosts: [${HOST}]
  ports: [{number: ${PORT}, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints:
${endpoints}${
  tlsYaml === undefined
    ? ''
    : `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: calc, namespace: shop}
spec:
  host: ${HOST}
  trafficPolicy:
    tls: ${tlsYaml}
${more}`
}`;
}
