// WorkloadIdentity: this process's certificate, key and trusted CA, read from
// files and re-read when they change (Istio rotates workload certificates
// about every 12 h). Each read builds new TLS contexts; connections opened
// afterwards use them, connections already open keep theirs, so calls in
// flight are never dropped by a rotation. A half-written rotation (a key that
// does not match its certificate yet) keeps the previous identity and is
// retried until the files agree.
import { EventEmitter } from 'node:events';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { spiffeIdOf, type SpiffeId } from './spiffe-id';

export interface IdentityFiles {
  /** PEM certificate chain of this workload (Istio: cert-chain.pem). */
  readonly certificateFile: string;
  /** PEM private key (Istio: key.pem). */
  readonly privateKeyFile: string;
  /** PEM CA bundle that signs the mesh's certificates (Istio: root-cert.pem). */
  readonly caCertificateFile: string;
}

export interface IdentityMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  /** The workload's SPIFFE id, from its certificate. */
  readonly spiffeId: SpiffeId | undefined;
  /** notAfter of the certificate. */
  readonly expires: Date;
  /** TLS context with our certificate and the mesh CA, for both directions. */
  readonly context: tls.SecureContext;
}

export interface WorkloadIdentityEvents {
  /** New files were read and are in force for new connections. */
  rotated: [material: IdentityMaterial];
  /** The files changed but could not be used; the previous identity stays. */
  error: [error: MeshError];
}

const RETRY_MS = 250;
const MAX_RETRIES = 40;

export class WorkloadIdentity extends EventEmitter<WorkloadIdentityEvents> {
  private current: IdentityMaterial;
  private readonly watchers: fs.FSWatcher[] = [];
  private pending: NodeJS.Timeout | undefined;
  private retries = 0;
  private closed = false;

  private constructor(
    readonly files: IdentityFiles,
    /** Where the files were found: `options.identity`, `bootstrap certificate_providers`, `istio workload files`. */
    readonly source: string,
  ) {
    super();
    this.current = readIdentity(files, source);
  }

  /** Reads the files (throws a CONFIG error naming the problem) and watches them for changes. */
  static load(files: IdentityFiles, source = 'identity'): WorkloadIdentity {
    const identity = new WorkloadIdentity(files, source);
    identity.watch();
    return identity;
  }

  get material(): IdentityMaterial {
    return this.current;
  }

  /** `spiffe://<trust domain>/ns/<ns>/sa/<sa>`, or undefined when the certificate has no SPIFFE id. */
  get spiffeId(): string | undefined {
    return this.current.spiffeId?.uri;
  }

  /** Re-reads the files now (the watcher calls this on change). */
  reload(): boolean {
    try {
      this.current = readIdentity(this.files, this.source);
      this.retries = 0;
      this.emit('rotated', this.current);
      return true;
    } catch (err) {
      if (this.retries++ < MAX_RETRIES) this.schedule(RETRY_MS);
      else if (this.listenerCount('error') > 0) this.emit('error', MeshError.from(err, MeshErrorCode.CONFIG));
      return false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.pending !== undefined) clearTimeout(this.pending);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  private watch(): void {
    // Directories, not files: rotations replace files (Kubernetes swaps a symlinked directory), which a file watch misses.
    const dirs = new Set([this.files.certificateFile, this.files.privateKeyFile, this.files.caCertificateFile].map((f) => path.dirname(path.resolve(f))));
    for (const dir of dirs) {
      try {
        const watcher = fs.watch(dir, { persistent: false }, () => this.schedule(50));
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        // A directory that cannot be watched: the identity stays as read.
      }
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      if (!this.closed && this.changed()) this.reload();
    }, ms);
    this.pending.unref();
  }

  /** Whether the bytes on disk differ from those in force (directory events fire for unrelated files too). */
  private changed(): boolean {
    try {
      return !(
        fs.readFileSync(this.files.certificateFile).equals(this.current.cert) &&
        fs.readFileSync(this.files.privateKeyFile).equals(this.current.key) &&
        fs.readFileSync(this.files.caCertificateFile).equals(this.current.ca)
      );
    } catch {
      return true;
    }
  }
}

function readIdentity(files: IdentityFiles, source: string): IdentityMaterial {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new MeshError(MeshErrorCode.CONFIG, `${source}: cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read(files.certificateFile, 'certificate file');
  const key = read(files.privateKeyFile, 'private key file');
  const ca = read(files.caCertificateFile, 'CA certificate file');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new MeshError(MeshErrorCode.CONFIG, `${source}: ${files.certificateFile} holds no PEM certificate (${(err as Error).message})`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new MeshError(MeshErrorCode.CONFIG, `${source}: ${files.privateKeyFile} is not the private key of ${files.certificateFile}: ${(err as Error).message}`);
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new MeshError(MeshErrorCode.CONFIG, `${source}: the certificate, key or CA cannot be used for TLS: ${(err as Error).message}`);
  }
  return { cert, key, ca, spiffeId: spiffeIdOf(leaf), expires: new Date(leaf.validTo), context };
}
