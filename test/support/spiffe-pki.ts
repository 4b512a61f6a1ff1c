// Throwaway Istio-style workload certificates made with openssl at test time:
// a mesh CA, workload certificates whose only SAN is a SPIFFE id
// (spiffe://cluster.local/ns/<ns>/sa/<sa>), and an unrelated CA. Each
// workload's files are laid out as the istio-agent writes them
// (cert-chain.pem, key.pem, root-cert.pem) in a directory of their own.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface WorkloadFiles {
  readonly dir: string;
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  readonly caCertificateFile: string;
}

export interface SpiffePki {
  readonly dir: string;
  /** Issues (or re-issues, for rotation) a workload certificate for ns/sa, signed by `ca` ('mesh' or 'other'). */
  workload(name: string, ns: string, sa: string, ca?: 'mesh' | 'other', trustDomain?: string): WorkloadFiles;
  remove(): void;
}

const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export function createSpiffePki(): SpiffePki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-spiffe-'));
  const openssl = (...args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['mesh', 'other']) openssl('req', '-x509', ...ecKey, '-keyout', `${ca}-ca.key`, '-out', `${ca}-ca.pem`, '-days', '2', '-subj', `/O=cluster.local/CN=${ca} CA`);
  let serial = 100;
  return {
    dir,
    workload(name, ns, sa, ca = 'mesh', trustDomain = 'cluster.local') {
      const out = path.join(dir, name);
      fs.mkdirSync(out, { recursive: true });
      const tmp = path.join(dir, `${name}-${++serial}`);
      fs.writeFileSync(`${tmp}.ext`, `subjectAltName=critical,URI:spiffe://${trustDomain}/ns/${ns}/sa/${sa}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
      openssl('req', ...ecKey, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`, '-subj', '/O=');
      openssl('x509', '-req', '-in', `${tmp}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca.key`, '-set_serial', String(serial), '-days', '1', '-out', `${tmp}.pem`, '-extfile', `${tmp}.ext`);
      // Replace each file by rename, as a rotation does, key first.
      const files = { certificateFile: path.join(out, 'cert-chain.pem'), privateKeyFile: path.join(out, 'key.pem'), caCertificateFile: path.join(out, 'root-cert.pem') };
      const put = (from: string, to: string) => {
        fs.copyFileSync(from, `${to}.new`);
        fs.renameSync(`${to}.new`, to);
      };
      put(`${tmp}.key`, files.privateKeyFile);
      put(`${tmp}.pem`, files.certificateFile);
      put(path.join(dir, 'mesh-ca.pem'), files.caCertificateFile);
      return { dir: out, ...files };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
