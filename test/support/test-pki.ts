// A throwaway PKI made with openssl at test time, so no key material is ever
// committed: a CA, a server certificate for localhost/127.0.0.1 and a client
// certificate it signed, plus a second, unrelated CA with a client
// certificate of its own (the "wrong CA" cases).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** PEM file paths. */
  readonly files: {
    readonly ca: string;
    readonly serverCert: string;
    readonly serverKey: string;
    readonly clientCert: string;
    readonly clientKey: string;
    readonly otherCa: string;
    readonly otherClientCert: string;
    readonly otherClientKey: string;
  };
  /** The PEM text of a file above. */
  read(name: keyof TestPki['files']): Buffer;
  remove(): void;
}

const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export function createTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-pki-'));
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string) => openssl('req', '-x509', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=meta-mesh test ${name}`);
  let serial = 1;
  const leaf = (name: string, signer: string, extensions: string) => {
    fs.writeFileSync(at(`${name}.ext`), extensions);
    openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-set_serial', String(++serial), '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  };
  try {
    ca('ca');
    leaf('server', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
    ca('other-ca');
    leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl could not make the test certificates: ${(err as Error).message}\n${stderr}`);
  }
  const files = {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.pem'),
    otherClientCert: at('other-client.pem'),
    otherClientKey: at('other-client.key'),
  };
  return {
    dir,
    files,
    read: (name) => fs.readFileSync(files[name]),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
