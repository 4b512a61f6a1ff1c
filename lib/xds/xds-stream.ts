// One xDS stream to one server: MetaRDS (DeltaRoutes or StreamRoutes) or ADS
// (DeltaAggregatedResources or StreamAggregatedResources). It keeps, per
// resource type, the names subscribed and the last accepted version and nonce;
// ACKs and NACKs each response by the book; and on any failure reconnects with
// backoff and resubscribes everything.
//
// Incremental (delta) xDS is tried first unless turned off: a server that
// answers the delta stream with UNIMPLEMENTED gets state of the world from
// then on, for the life of this stream object. On a delta stream each request
// says only what changed (names subscribed, names unsubscribed), an ACK or
// NACK carries only the nonce (and error_detail), and a new stream's first
// request of a type lists the versions already held (initial_resource_versions)
// so the server sends only what differs.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { MeshError, MeshErrorCode } from '../protocol';
import { Backoff, BackoffOptions } from '../protocol/backoff';
import type {
  DeltaDiscoveryRequestProto,
  DeltaDiscoveryResponseProto,
  DiscoveryRequestProto,
  DiscoveryResponseProto,
  NodeProto,
} from './envoy-types';
import { describeStreamFailure } from './stream-failure';
import { XdsTypeUrl, isXdsTypeUrl } from './type-urls';
import type { XdsSecurity } from './xds-options';
import { xdsProtos } from './xds-protos';

/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK. */
const INVALID_ARGUMENT = 3;
/** Default largest xDS message: far above a large mesh's MetaRDS snapshot, far below what could exhaust memory. */
export const DEFAULT_XDS_MAX_RECEIVE_BYTES = 32 * 1024 * 1024;
/** Default time a request that expects a response may go unanswered before the stream is taken as abandoned. */
export const DEFAULT_XDS_STREAM_WATCHDOG_MS = 60_000;
/** gRPC keepalive: a ping every 30 s (istiod permits 15 s), 20 s for its answer. */
const KEEPALIVE_TIME_MS = 30_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

/** Which xDS variant to speak: delta when the server offers it (default), or only one of them. */
export type XdsProtocol = 'auto' | 'delta' | 'sotw';

export const XDS_PROTOCOLS: readonly XdsProtocol[] = ['auto', 'delta', 'sotw'];

// Optional fields take `| undefined`: XdsConfigSource forwards its own (user) options as they are.
export interface XdsStreamOptions {
  readonly kind: 'rds' | 'ads';
  readonly target: string;
  readonly credentials: grpc.ChannelCredentials;
  /** How `credentials` secure the stream and which setting chose that; failures then name what to change. */
  readonly security?: XdsSecurity | undefined;
  readonly node: NodeProto;
  readonly backoff?: BackoffOptions | undefined;
  /** Default 'auto': delta, falling back to state of the world when the server does not implement it. */
  readonly protocol?: XdsProtocol | undefined;
  /**
   * Applies one response; returns the reasons its invalid resources were refused (empty = ACK).
   * Responses are handed over one at a time, in order: the next waits until this one's promise settles.
   */
  readonly onResponse: (typeUrl: XdsTypeUrl, response: DiscoveryResponseProto) => readonly string[] | Promise<readonly string[]>;
  /** The same for a delta response. */
  readonly onDeltaResponse: (typeUrl: XdsTypeUrl, response: DeltaDiscoveryResponseProto) => readonly string[] | Promise<readonly string[]>;
  /** The stream went up (first response) or down (with the reason). */
  readonly onState: (up: boolean, error?: string) => void;
  /** A new stream was opened and every subscription sent on it. */
  readonly onOpen?: (() => void) | undefined;
  /** Largest message accepted, in bytes (default DEFAULT_XDS_MAX_RECEIVE_BYTES). */
  readonly maxReceiveMessageBytes?: number | undefined;
  /** How long a request that expects a response may go unanswered before the stream is opened again (default DEFAULT_XDS_STREAM_WATCHDOG_MS). */
  readonly watchdogMs?: number | undefined;
  /** The watchdog's clock and timer (default performance.now and setTimeout); for tests. */
  readonly watchdogTimer?: WatchdogTimer | undefined;
}

/** What the watchdog reads time from and waits with. */
export interface WatchdogTimer {
  now(): number;
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMER: WatchdogTimer = {
  now: () => performance.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Subscription {
  /** undefined = wildcard (every resource of the type). */
  names: string[] | undefined;
  /** Last version accepted on a stream, sent back so the server knows what we have. */
  version: string;
  nonce: string;
  /**
   * Names asked for in the first request of this type on the current stream
   * and kept ever since (undefined = not sent on this stream yet). Every
   * response was made after the server read that first request, so one that
   * leaves such a name out says it does not exist; a name added later may be
   * missing only because the response crossed the request that added it.
   */
  known: Set<string> | undefined;
  /** Delta: the names the server was told on the current stream (undefined = nothing of this type sent on it yet). */
  sent: Set<string> | undefined;
  /** Delta: the version of each resource accepted, sent as initial_resource_versions on a new stream. */
  versions: Map<string, string>;
  /**
   * When a request of this type that the server must answer (the first of
   * the type on a stream, or one that asks for more names) was sent and no
   * response of the type has come since; undefined when none is waiting.
   */
  awaitingSince: number | undefined;
}

export interface XdsStreamState {
  readonly kind: 'rds' | 'ads';
  readonly target: string;
  readonly connected: boolean;
  /** The variant of the current (or last) stream: 'delta' or 'sotw'. */
  readonly protocol: 'delta' | 'sotw';
  readonly lastError?: string;
  readonly versions: Record<string, string>;
  /** Types with a request the server has not answered yet (the watchdog runs only while there are some). */
  readonly awaiting: readonly string[];
}

export class XdsStream {
  private readonly client: grpc.Client;
  private readonly backoff: Backoff;
  private readonly subs = new Map<XdsTypeUrl, Subscription>();
  private call: grpc.ClientDuplexStream<DiscoveryRequestProto | DeltaDiscoveryRequestProto, DiscoveryResponseProto & DeltaDiscoveryResponseProto> | undefined;
  /** The current stream is a delta one. */
  private delta = false;
  /** The server answered a delta stream with UNIMPLEMENTED: state of the world from now on. */
  private deltaRefused = false;
  private sentNode = false;
  /** Responses received and not yet applied wait here, so they are applied (and ACKed) in order. */
  private inbox: Promise<void> = Promise.resolve();
  /** State of the world: the newest response of each type; an older one still waiting is skipped, as the newer holds the whole state. */
  private readonly newest = new Map<string, DiscoveryResponseProto>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private up = false;
  private lastError: string | undefined;
  /** Armed only while a request waits for its response. */
  private watchdog: unknown;
  private readonly watchdogMs: number;
  private readonly watchdogClock: WatchdogTimer;

  constructor(private readonly options: XdsStreamOptions) {
    const protos = xdsProtos();
    const Client = options.kind === 'ads' ? protos.AdsClient : protos.RdsClient;
    const maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_XDS_MAX_RECEIVE_BYTES;
    if (!Number.isSafeInteger(maxReceive) || maxReceive <= 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `xds.maxReceiveMessageBytes must be a whole number of bytes above 0, not ${maxReceive}`);
    }
    this.watchdogMs = options.watchdogMs ?? DEFAULT_XDS_STREAM_WATCHDOG_MS;
    if (!(this.watchdogMs > 0)) throw new MeshError(MeshErrorCode.CONFIG, `xds.streamWatchdogMs must be above 0, not ${this.watchdogMs}`);
    this.watchdogClock = options.watchdogTimer ?? REAL_TIMER;
    this.client = new Client(options.target, options.credentials, {
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
      // A full MetaRDS snapshot of a large mesh is above gRPC's 4 MB default; a bound stays.
      'grpc.max_receive_message_length': maxReceive,
      'grpc.max_send_message_length': -1,
    });
    this.backoff = new Backoff(options.backoff);
  }

  /** A stream is open (it may not have answered yet). */
  get isOpen(): boolean {
    return this.call !== undefined;
  }

  get target(): string {
    return this.options.target;
  }

  /** Sets the names wanted for a type (undefined = wildcard) and tells the server when they changed. */
  subscribe(typeUrl: XdsTypeUrl, names: readonly string[] | undefined): void {
    const sorted = names === undefined ? undefined : [...new Set(names)].sort();
    let sub = this.subs.get(typeUrl);
    if (sub !== undefined && sameNames(sub.names, sorted)) return;
    const before = sub?.names;
    if (sub === undefined) {
      sub = { names: sorted, version: '', nonce: '', known: undefined, sent: undefined, versions: new Map(), awaitingSince: undefined };
      this.subs.set(typeUrl, sub);
    } else {
      sub.names = sorted;
      if (sub.known !== undefined) {
        const wanted = new Set(sorted ?? []);
        for (const n of sub.known) if (!wanted.has(n)) sub.known.delete(n);
      }
    }
    if (this.call === undefined) this.open();
    else if (this.delta) this.sendDeltaChanges(typeUrl, sub);
    else {
      // A request that asks for names it did not have is answered; one that only drops names need not be.
      if (asksForMore(before, sorted)) this.await(sub);
      this.send(typeUrl, sub, sub.version);
    }
  }

  names(typeUrl: XdsTypeUrl): readonly string[] | undefined {
    return this.subs.get(typeUrl)?.names;
  }

  /**
   * Whether every response from now on has been made knowing `name` is
   * wanted: true when it was in this stream's first request of the type and
   * has stayed subscribed, so a state-of-the-world response without it means
   * the server has no such resource.
   */
  serverKnowsOf(typeUrl: XdsTypeUrl, name: string): boolean {
    // Delta responses name what was removed; nothing is inferred from what they leave out.
    return !this.delta && this.subs.get(typeUrl)?.known?.has(name) === true;
  }

  state(): XdsStreamState {
    const versions: Record<string, string> = {};
    for (const [t, s] of this.subs) versions[t] = s.version;
    const protocol = this.delta ? 'delta' : 'sotw';
    const awaiting = [...this.subs].filter(([, s]) => s.awaitingSince !== undefined).map(([t]) => t);
    return { kind: this.options.kind, target: this.options.target, connected: this.up, protocol, ...(this.lastError === undefined ? {} : { lastError: this.lastError }), versions, awaiting };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopWatchdog();
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.client.close();
  }

  private open(): void {
    if (this.closed || this.call !== undefined) return;
    const protocol = this.options.protocol ?? 'auto';
    const delta = protocol === 'delta' || (protocol === 'auto' && !this.deltaRefused);
    const ads = this.options.kind === 'ads';
    const method = delta ? (ads ? 'DeltaAggregatedResources' : 'DeltaRoutes') : ads ? 'StreamAggregatedResources' : 'StreamRoutes';
    const call = (this.client as unknown as Record<typeof method, () => XdsStream['call']>)[method]() as NonNullable<XdsStream['call']>;
    this.call = call;
    this.delta = delta;
    this.sentNode = false;
    let answered = false;
    call.on('data', (response: DiscoveryResponseProto & DeltaDiscoveryResponseProto) => {
      answered = true;
      const sub = this.take(call, response);
      if (sub === undefined) return;
      if (!delta) this.newest.set(response.type_url ?? '', response);
      const next = () => (delta ? this.onDeltaData(call, sub, response) : this.onData(call, sub, response));
      this.inbox = this.inbox.then(next).catch(() => undefined);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (delta && !answered && err.code === grpc.status.UNIMPLEMENTED) {
        if (protocol === 'auto') return this.fallBack(call);
        return this.onEnd(call, `the server does not serve delta xDS (${method} is UNIMPLEMENTED); set xds.protocol to 'auto' or 'sotw'`);
      }
      this.onEnd(call, describeStreamFailure(err, this.options.security ?? { mode: 'plaintext', source: 'default' }));
    });
    call.on('end', () => this.onEnd(call, 'the server ended the stream'));
    // A new stream starts from scratch on the server: no nonce, and every subscription again.
    for (const [typeUrl, sub] of this.subs) {
      sub.nonce = '';
      sub.known = undefined;
      sub.sent = undefined;
      sub.awaitingSince = undefined;
      if (delta) this.sendDeltaChanges(typeUrl, sub);
      else {
        // The first request of a type on a stream is always answered.
        this.await(sub);
        this.send(typeUrl, sub, sub.version);
      }
    }
    this.options.onOpen?.();
  }

  /** The server has no delta xDS: state of the world at once, and from now on. */
  private fallBack(call: NonNullable<XdsStream['call']>): void {
    if (call !== this.call) return;
    this.deltaRefused = true;
    this.stopWatchdog();
    this.call = undefined;
    call.removeAllListeners('data');
    call.on('error', () => undefined);
    this.open();
  }

  /** Takes one response of either variant as it arrives: the subscription it answers, with the newest nonce noted. */
  private take(call: NonNullable<XdsStream['call']>, response: { type_url?: string; nonce?: string }): Subscription | undefined {
    if (call !== this.call) return undefined;
    this.markUp();
    const typeUrl = response.type_url ?? '';
    const sub = isXdsTypeUrl(typeUrl) ? this.subs.get(typeUrl) : undefined;
    if (sub === undefined) return undefined; // a type we never asked for: nothing to ACK
    // Requests sent from now on (a subscription change) carry the newest nonce, as Envoy's do.
    sub.nonce = response.nonce ?? '';
    // The server answered: nothing of this type waits any more (applying it may take a while longer).
    this.answered(sub);
    return sub;
  }

  /** Applies one response (in its turn); the reasons it was refused, or undefined when its stream is gone. */
  private async apply<R extends { type_url?: string }>(
    call: NonNullable<XdsStream['call']>,
    response: R,
    apply: (typeUrl: XdsTypeUrl, response: R) => readonly string[] | Promise<readonly string[]>,
  ): Promise<readonly string[] | undefined> {
    // A response of a stream that ended is not applied: the new stream's server sends the state again.
    if (call !== this.call) return undefined;
    let errors: readonly string[];
    try {
      errors = await apply(response.type_url as XdsTypeUrl, response);
    } catch (err) {
      errors = [`meta-mesh could not apply the response: ${(err as Error).message}`];
    }
    // The ACK or NACK belongs to the stream the response came on.
    return call === this.call ? errors : undefined;
  }

  private async onDeltaData(call: NonNullable<XdsStream['call']>, sub: Subscription, response: DeltaDiscoveryResponseProto): Promise<void> {
    const errors = await this.apply(call, response, this.options.onDeltaResponse);
    if (errors === undefined) return;
    const typeUrl = response.type_url as XdsTypeUrl;
    const ack: DeltaDiscoveryRequestProto = { type_url: typeUrl, response_nonce: response.nonce ?? '' };
    if (errors.length === 0) {
      sub.version = response.system_version_info ?? '';
      for (const r of response.resources ?? []) {
        const name = r.name ?? '';
        if (r.resource != null && (sub.names === undefined || sub.sent?.has(name) === true)) sub.versions.set(name, r.version ?? '');
      }
      for (const name of response.removed_resources ?? []) sub.versions.delete(name);
    } else {
      // NACK: the nonce we refuse, and why; the versions held stay as they were.
      ack.error_detail = { code: INVALID_ARGUMENT, message: errors.join('; ') };
    }
    this.writeDelta(ack);
  }

  /**
   * Tells a delta server what changed in a type's subscription. The first
   * request of a type on a stream lists every name (none = wildcard) and the
   * versions held; later ones only the names added and removed.
   */
  private sendDeltaChanges(typeUrl: XdsTypeUrl, sub: Subscription): void {
    if (this.call === undefined) return;
    if (sub.sent === undefined) {
      // A first request with no names would read as a wildcard subscription: wait for a name.
      if (sub.names !== undefined && sub.names.length === 0) return;
      const initial: Record<string, string> = {};
      for (const [name, version] of sub.versions) if (sub.names === undefined || sub.names.includes(name)) initial[name] = version;
      sub.sent = new Set(sub.names ?? []);
      this.await(sub);
      this.writeDelta({ type_url: typeUrl, resource_names_subscribe: sub.names ?? [], initial_resource_versions: initial });
      return;
    }
    if (sub.names === undefined) return; // a wildcard subscription stays one
    const wanted = new Set(sub.names);
    const added = sub.names.filter((n) => !sub.sent!.has(n));
    const dropped = [...sub.sent].filter((n) => !wanted.has(n));
    if (added.length === 0 && dropped.length === 0) return;
    for (const n of added) sub.sent.add(n);
    if (added.length > 0) this.await(sub);
    for (const n of dropped) {
      sub.sent.delete(n);
      sub.versions.delete(n);
    }
    this.writeDelta({ type_url: typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: dropped });
  }

  private writeDelta(request: DeltaDiscoveryRequestProto): void {
    const call = this.call;
    if (call === undefined) return;
    if (!this.sentNode) {
      request.node = this.options.node;
      this.sentNode = true;
    }
    call.write(request);
  }

  private markUp(): void {
    this.backoff.reset();
    if (!this.up) {
      this.up = true;
      this.lastError = undefined;
      this.options.onState(true);
    }
  }

  private async onData(call: NonNullable<XdsStream['call']>, sub: Subscription, response: DiscoveryResponseProto): Promise<void> {
    const typeUrl = response.type_url as XdsTypeUrl;
    // A newer response of the type came while this one waited: it holds the whole state and is the one to ACK.
    if (this.newest.get(typeUrl) !== response) return;
    const errors = await this.apply(call, response, this.options.onResponse);
    if (errors === undefined) return;
    const nonce = response.nonce ?? '';
    if (errors.length === 0) {
      sub.version = response.version_info ?? '';
      this.send(typeUrl, sub, sub.version, undefined, nonce);
    } else {
      // NACK: the version we still run, the nonce we refuse, and why.
      this.send(typeUrl, sub, sub.version, { code: INVALID_ARGUMENT, message: errors.join('; ') }, nonce);
    }
  }

  /**
   * A control plane can drop a stream without a status: the connection stays
   * up (keepalive is answered) but nothing more arrives. The watchdog runs
   * only while a request the server must answer (a type's first request on
   * the stream, or one that asks for more names) is waiting: unanswered for
   * watchdogMs, the stream is ended and a new one subscribes to everything
   * again. A healthy stream with nothing to say stays open however long it
   * is quiet (a new stream would make the server resend its whole state), and
   * keepalive pings find a dead connection. ACKs and NACKs need no answer.
   */
  private await(sub: Subscription): void {
    if (sub.awaitingSince === undefined) sub.awaitingSince = this.watchdogClock.now();
    if (this.watchdog === undefined) this.armWatchdog(this.watchdogMs);
  }

  /** A response of the type arrived: nothing of it waits any more; the watchdog stops when nothing does. */
  private answered(sub: Subscription): void {
    sub.awaitingSince = undefined;
    if (this.oldestAwaiting() === undefined) this.stopWatchdog();
  }

  private oldestAwaiting(): number | undefined {
    let oldest: number | undefined;
    for (const sub of this.subs.values()) {
      if (sub.awaitingSince !== undefined && (oldest === undefined || sub.awaitingSince < oldest)) oldest = sub.awaitingSince;
    }
    return oldest;
  }

  private armWatchdog(ms: number): void {
    this.watchdog = this.watchdogClock.setTimeout(() => this.checkWatchdog(), Math.max(1, ms));
  }

  private checkWatchdog(): void {
    this.watchdog = undefined;
    const call = this.call;
    const oldest = this.oldestAwaiting();
    if (call === undefined || oldest === undefined) return;
    const left = oldest + this.watchdogMs - this.watchdogClock.now();
    if (left > 0) {
      this.armWatchdog(left);
      return;
    }
    this.onEnd(call, `a request waited ${this.watchdogMs} ms for its response (xds.streamWatchdogMs); opening a new stream`);
    call.cancel();
  }

  private stopWatchdog(): void {
    if (this.watchdog !== undefined) this.watchdogClock.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private onEnd(call: NonNullable<XdsStream['call']>, reason: string): void {
    if (call !== this.call) return;
    this.stopWatchdog();
    this.call = undefined;
    call.removeAllListeners('data');
    // Keep an error listener: grpc-js may still emit one, and an unheard 'error' would crash the process.
    call.on('error', () => undefined);
    this.lastError = reason;
    this.up = false;
    this.options.onState(false, reason);
    const delay = this.backoff.next();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delay);
    this.timer.unref();
  }

  private send(typeUrl: XdsTypeUrl, sub: Subscription, version: string, error?: { code: number; message: string }, nonce = sub.nonce): void {
    const call = this.call;
    if (call === undefined) return;
    const request: DiscoveryRequestProto = {
      version_info: version,
      resource_names: sub.names ?? [],
      type_url: typeUrl,
      response_nonce: nonce,
    };
    if (!this.sentNode) {
      request.node = this.options.node;
      this.sentNode = true;
    }
    if (sub.known === undefined) sub.known = new Set(sub.names ?? []);
    if (error !== undefined) request.error_detail = error;
    call.write(request);
  }
}

/** Whether `after` wants a name `before` did not (a wildcard wants every name). */
function asksForMore(before: readonly string[] | undefined, after: readonly string[] | undefined): boolean {
  if (after === undefined) return before !== undefined;
  if (before === undefined) return false;
  const had = new Set(before);
  return after.some((n) => !had.has(n));
}

function sameNames(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
