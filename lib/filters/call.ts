// Call and Reply: what flows through a filter chain. A Call is created by an
// adapter for each message it intercepts; filters read and annotate it, and
// the terminal filter (the router outbound, the application inbound) answers.
import type { Service } from '../config/model';
import type { Codec, CodecFactory, EncodeOptions } from '../protocol/codec';
import type { Message, Mutation } from '../protocol/message';
import type { Metadata } from '../protocol/metadata';
import type { CallDeadline } from './call-deadline';

export type CallDirection = 'outbound' | 'inbound';

/** Who sent an inbound call, as the connection proves it (never from what the peer writes in the message). */
export interface CallPeer {
  /** The connection's remote address. */
  readonly address: string;
  /** The verified SPIFFE id of the peer's client certificate without `spiffe://` (mTLS only). */
  readonly principal?: string;
  /** The namespace in that SPIFFE id. */
  readonly namespace?: string;
}

export interface Call {
  readonly direction: CallDirection;
  /** The service called (outbound) or served (inbound). */
  readonly service: Service;
  /** The decoded request, as the application's client (or the remote caller) wrote it. */
  readonly request: Message;
  /** Routable metadata: the codec's keys plus any the application or filters added. */
  readonly metadata: Metadata;
  /** Key/values written into the request on its way upstream (THeader headers, attachments). */
  readonly mutation: Mutation;
  /** The codec that decoded `request`: it encodes error replies for it. */
  readonly codec: Codec;
  /** Makes codecs for upstream connections of this protocol. */
  readonly codecFactory: CodecFactory;
  /** Protocol-specific encode options for the upstream request (e.g. Thrift re-framing). */
  readonly encodeOptions: EncodeOptions | undefined;
  /** False for oneway calls: sent, never answered. */
  readonly expectReply: boolean;
  /** performance.now() when the call entered meta-mesh. */
  readonly startTime: number;
  /** Deadline for the whole call in ms; a route's timeout overrides it. */
  timeoutMs: number;
  /**
   * Aborted when the call's deadline passes (reason: a TIMEOUT MeshError; a
   * route's timeout moves it) or when the mesh closes (reason: CLOSED). The
   * mesh's own waits (fault delays, retry back-off, queued mirrors) end with it;
   * a filter that waits on anything should pass it on or listen to it.
   * Adapters get one from `mesh.callSignal(timeoutMs)`, or read it lazily
   * from `deadline`.
   */
  readonly signal: AbortSignal;
  /**
   * The mesh's deadline behind `signal` (`mesh.callDeadline(timeoutMs)`), when
   * the adapter has it: the mesh waits on it without making the signal.
   */
  readonly deadline?: CallDeadline;
  /** Set by the router: the matched route's name, the cluster and the endpoint picked. */
  routeName?: string;
  cluster?: string;
  upstream?: string;
  /** Tries made so far (1 = no retry yet); set by the router. */
  tryCount?: number;
  /** Inbound calls: the peer, set by the server from its connection. */
  readonly peer?: CallPeer;
}

export interface Reply {
  /** The reply as the upstream (or the local handler) wrote it; its requestId is not the caller's. */
  readonly message: Message;
  /** Key/values the route asks to write into the reply. */
  readonly mutation?: ReadonlyMap<string, string>;
}

/** Answers a call: resolves with the reply, undefined for oneway, or rejects with a MeshError. */
export type Handler = (call: Call) => Promise<Reply | undefined>;

/** A filter wraps the next handler: `(next) => (call) => { ...; return next(call); }`. */
export type Filter = (next: Handler) => Handler;
