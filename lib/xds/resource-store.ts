// The client's view of one xDS resource type: per name, what was asked for,
// the last good resource (raw and translated), and why the latest was refused.
// Its dump mirrors Envoy's CSDS client status (REQUESTED/ACKED/NACKED/DOES_NOT_EXIST).

export type ClientStatus = 'REQUESTED' | 'ACKED' | 'NACKED' | 'DOES_NOT_EXIST';

// Mutable state, cleared by writing `undefined` (not `delete`, which would slow every entry down): hence `| undefined`.
export interface ResourceEntry<Raw, Value> {
  readonly name: string;
  status: ClientStatus;
  /** Version of the response that delivered the resource in use. */
  version?: string | undefined;
  raw?: Raw | undefined;
  /** The encoded resource, so a state-of-the-world resend of the same bytes is recognised without translating again. */
  bytes?: Buffer | undefined;
  value?: Value | undefined;
  /** Wall-clock ms of the last accepted update (for dumps). */
  lastUpdated?: number | undefined;
  /** Monotonic ms when the name was (re)requested on a working stream. */
  requestedAt: number;
  error?: { details: string; version: string; at: number } | undefined;
  fromCache?: boolean | undefined;
}

export interface ResourceDump {
  readonly name: string;
  readonly clientStatus: ClientStatus;
  readonly versionInfo?: string;
  readonly lastUpdated?: string;
  readonly fromCache?: boolean;
  readonly resource?: unknown;
  readonly errorState?: { readonly details: string; readonly versionInfo: string; readonly lastUpdateAttempt: string };
}

export class ResourceStore<Raw, Value> {
  readonly entries = new Map<string, ResourceEntry<Raw, Value>>();
  /** The last response refused as a whole, until one is applied: its reasons name what no single entry can (bytes that did not decode). */
  lastRefusal: { readonly details: string; readonly version: string; readonly at: number } | undefined;
  /** The version of the last update accepted, by receipt: versions are opaque strings with no order of their own. */
  lastVersion: string | undefined;

  /**
   * @param decodeRaw Decodes a resource's bytes again, for a type whose
   *   entries keep only the bytes and the model (see route-config-reader.ts).
   */
  constructor(
    private readonly clock: () => number,
    private readonly decodeRaw?: (bytes: Buffer) => Raw,
  ) {}

  /** Makes sure every name has an entry; new ones start REQUESTED. */
  request(names: Iterable<string>): void {
    const now = this.clock();
    for (const name of names) if (!this.entries.has(name)) this.entries.set(name, { name, status: 'REQUESTED', requestedAt: now });
  }

  /** Drops entries no longer wanted. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.entries.keys()) if (!names.has(name)) this.entries.delete(name);
  }

  get(name: string): ResourceEntry<Raw, Value> | undefined {
    return this.entries.get(name);
  }

  /** The raw resource of `e`: kept, or decoded again from its bytes. */
  rawOf(e: ResourceEntry<Raw, Value>): Raw | undefined {
    if (e.raw !== undefined) return e.raw;
    return e.bytes === undefined ? undefined : this.rawOfBytes(e.bytes);
  }

  /** A kept resource's bytes decoded again (undefined for a type that keeps its raw resources instead). */
  rawOfBytes(bytes: Buffer): Raw | undefined {
    return this.decodeRaw === undefined ? undefined : this.decodeRaw(bytes);
  }

  /** True when the same bytes are already in use (nothing to do). */
  unchanged(name: string, bytes: Buffer): boolean {
    const e = this.entries.get(name);
    return e !== undefined && e.status === 'ACKED' && e.bytes !== undefined && e.bytes.equals(bytes);
  }

  accept(name: string, raw: Raw | undefined, bytes: Buffer | undefined, value: Value, version: string, fromCache = false): void {
    const e = this.entries.get(name) ?? { name, status: 'REQUESTED' as ClientStatus, requestedAt: this.clock() };
    e.status = 'ACKED';
    e.raw = raw;
    e.bytes = bytes;
    e.value = value;
    e.version = version;
    e.lastUpdated = Date.now();
    e.error = undefined;
    e.fromCache = fromCache || undefined;
    this.entries.set(name, e);
    this.lastVersion = version;
  }

  /** Refuses an update; the last good value, if any, stays in use. */
  reject(name: string, details: string, version: string): void {
    const e = this.entries.get(name) ?? { name, status: 'REQUESTED' as ClientStatus, requestedAt: this.clock() };
    e.status = 'NACKED';
    e.error = { details, version, at: Date.now() };
    this.entries.set(name, e);
  }

  /** A whole response was refused (NACK); no entry changed. */
  refuse(details: string, version: string): void {
    this.lastRefusal = { details, version, at: Date.now() };
  }

  /** A whole response was applied (ACK). */
  accepted(): void {
    this.lastRefusal = undefined;
  }

  /** The server says (or the timer decided) the resource does not exist. */
  absent(name: string): boolean {
    const e = this.entries.get(name);
    if (e === undefined || (e.status === 'DOES_NOT_EXIST' && e.value === undefined)) return false;
    e.status = 'DOES_NOT_EXIST';
    e.raw = undefined;
    e.bytes = undefined;
    e.value = undefined;
    return true;
  }

  /** Restarts the missing-resource clock of names still waiting (a stream came up). */
  restartClock(): void {
    const now = this.clock();
    for (const e of this.entries.values()) if (e.status === 'REQUESTED') e.requestedAt = now;
  }

  /** Whether the name has an answer: a resource, a refusal or a known absence. */
  resolved(name: string): boolean {
    const e = this.entries.get(name);
    return e !== undefined && e.status !== 'REQUESTED';
  }

  dump(): ResourceDump[] {
    const out: ResourceDump[] = [];
    for (const e of this.entries.values()) {
      const raw = this.rawOf(e);
      out.push({
        name: e.name,
        clientStatus: e.status,
        ...(e.version === undefined ? {} : { versionInfo: e.version }),
        ...(e.lastUpdated === undefined ? {} : { lastUpdated: new Date(e.lastUpdated).toISOString() }),
        ...(e.fromCache === true ? { fromCache: true } : {}),
        ...(raw === undefined ? {} : { resource: raw }),
        ...(e.error === undefined
          ? {}
          : { errorState: { details: e.error.details, versionInfo: e.error.version, lastUpdateAttempt: new Date(e.error.at).toISOString() } }),
      });
    }
    return out;
  }
}
