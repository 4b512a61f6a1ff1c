// UpstreamPool: the process-wide set of UpstreamHosts, keyed by protocol and
// endpoint. Hosts outlive config snapshots: a new snapshot reuses the hosts it
// still names, and hosts it no longer names are retired (their connections
// close once idle) instead of being cut, so no call fails because config changed.
import type { CodecFactory } from '../protocol/codec';
import type { UpstreamTlsResolve, UpstreamTransport } from './upstream-transport';
import { HostTable } from './host-table';
import { UpstreamHost, upstreamHostGroup } from './upstream-host';

export interface UpstreamPoolOptions {
  readonly connectionsPerEndpoint: number;
  /** Builds the TLS of clusters that ask for it; without it such clusters cannot connect. */
  readonly tls?: UpstreamTlsResolve;
}

export class UpstreamPool {
  private readonly hosts = new HostTable();
  private readonly retired = new HostTable();

  constructor(private readonly options: UpstreamPoolOptions) {}

  /**
   * The host for an endpoint, created on first use. `transport` is the
   * calling snapshot's settings: the host's next connects use them.
   * `multiplexing` picks the connection model (default: the protocol's own,
   * `CodecFactory.multiplexing`, false when unset as in MetaProtocol Proxy).
   */
  acquire(codecFactory: CodecFactory, address: string, port: number, plain: UpstreamTransport, multiplexing = codecFactory.multiplexing === true): UpstreamHost {
    const transport = this.secured(plain);
    // Connections made with different TLS settings are never shared: a plaintext cluster never rides an mTLS socket, nor the reverse.
    const plainGroup = upstreamHostGroup(codecFactory, port, multiplexing);
    const group = transport.secure === undefined ? plainGroup : `${plainGroup}|${transport.secure.key}`;
    let host = this.hosts.get(group, address);
    if (host !== undefined && !host.isClosed) {
      host.useTransport(transport);
      return host;
    }
    host = this.retired.get(group, address);
    if (host !== undefined && !host.isClosed) {
      this.retired.delete(group, address);
      host.revive();
      host.useTransport(transport);
    } else {
      host = new UpstreamHost({ address, port, codecFactory, transport, connections: this.options.connectionsPerEndpoint, multiplexing });
    }
    this.hosts.set(group, address, host);
    return host;
  }

  private secured(transport: UpstreamTransport): UpstreamTransport {
    if (transport.tls === undefined || transport.secure !== undefined || this.options.tls === undefined) return transport;
    return { ...transport, secure: this.options.tls(transport.tls, transport.tlsHost ?? '') };
  }

  /**
   * Retires every host whose endpoint (`address:port`) is not in `endpoints`.
   * Called after a new snapshot is in place.
   */
  retain(endpoints: { has(endpoint: string): boolean }): void {
    for (const [group, address, host] of this.retired.entries()) if (host.isGone) this.retired.delete(group, address);
    for (const [group, address, host] of this.hosts.entries()) {
      if (endpoints.has(host.endpoint)) continue;
      this.hosts.delete(group, address);
      host.retire();
      this.retired.set(group, address, host);
    }
  }

  get size(): number {
    return this.hosts.size;
  }

  all(): IterableIterator<UpstreamHost> {
    return this.hosts.values();
  }

  close(): void {
    for (const host of this.hosts.values()) host.close();
    for (const host of this.retired.values()) host.close();
    this.hosts.clear();
    this.retired.clear();
  }
}
