// Where this workload's certificate comes from, in the order the issue and
// Istio's proxyless gRPC set: the `identity` option; else the gRPC bootstrap's
// certificate_providers (the `file_watcher` plugin, as the istio-agent writes
// it, instance `default` first); else Istio's workload credential files when
// they exist. None of them = no identity (mTLS settings then fail closed).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { IdentityFiles } from './workload-identity';

/** A bootstrap's `certificate_providers` entry: `{ plugin_name, config }`. */
export interface CertificateProviderConfig {
  readonly pluginName: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Istio's workload credential files (written by the istio-agent for proxyless workloads), then the older /etc/certs. */
export const ISTIO_CREDENTIAL_DIRS = ['/var/run/secrets/workload-spiffe-credentials', '/etc/certs'];
const ISTIO_FILES = { certificateFile: 'cert-chain.pem', privateKeyFile: 'key.pem', caCertificateFile: 'root-cert.pem' } as const;

export interface IdentityChoice {
  readonly files: IdentityFiles;
  readonly source: string;
}

export function chooseIdentityFiles(
  explicit: Partial<IdentityFiles> | undefined,
  providers: Readonly<Record<string, CertificateProviderConfig>> | undefined,
  credentialDirs: readonly string[] = ISTIO_CREDENTIAL_DIRS,
): IdentityChoice | undefined {
  if (explicit !== undefined) {
    for (const field of ['certificateFile', 'privateKeyFile', 'caCertificateFile'] as const) {
      if (typeof explicit[field] !== 'string' || explicit[field] === '') {
        throw new MeshError(MeshErrorCode.CONFIG, `identity.${field} is missing; give identity {certificateFile, privateKeyFile, caCertificateFile} (PEM file paths)`);
      }
    }
    return { files: explicit as IdentityFiles, source: 'identity option' };
  }
  if (providers !== undefined) {
    const names = Object.keys(providers);
    const name = names.includes('default') ? 'default' : names.find((n) => providers[n]!.pluginName === 'file_watcher');
    if (name !== undefined) {
      const p = providers[name]!;
      const where = `the bootstrap's certificate_providers.${name}`;
      if (p.pluginName !== 'file_watcher') {
        throw new MeshError(MeshErrorCode.CONFIG, `${where} uses plugin '${p.pluginName}'; meta-mesh reads file_watcher (as the istio-agent writes it)`);
      }
      const pick = (key: string) => {
        const v = p.config[key];
        if (typeof v !== 'string' || v === '') throw new MeshError(MeshErrorCode.CONFIG, `${where}.config has no ${key}`);
        return v;
      };
      return {
        files: { certificateFile: pick('certificate_file'), privateKeyFile: pick('private_key_file'), caCertificateFile: pick('ca_certificate_file') },
        source: where,
      };
    }
  }
  for (const dir of credentialDirs) {
    const files = {
      certificateFile: path.join(dir, ISTIO_FILES.certificateFile),
      privateKeyFile: path.join(dir, ISTIO_FILES.privateKeyFile),
      caCertificateFile: path.join(dir, ISTIO_FILES.caCertificateFile),
    };
    if (Object.values(files).every((f) => fs.existsSync(f))) return { files, source: `Istio's workload credential files in ${dir}` };
  }
  return undefined;
}
