// HostTable: UpstreamPool's hosts by key without a key string per host. A
// group (protocol, variant, connection model, port, TLS settings) holds its
// hosts by address, and the address strings are the endpoints' own, so at
// 100k endpoints the table adds no strings (a flat `thrift/…|10.0.3.7:9090`
// key per host was ~14 MB of strings).
import type { UpstreamHost } from './upstream-host';

export class HostTable {
  private readonly groups = new Map<string, Map<string, UpstreamHost>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(group: string, address: string): UpstreamHost | undefined {
    return this.groups.get(group)?.get(address);
  }

  set(group: string, address: string, host: UpstreamHost): void {
    let hosts = this.groups.get(group);
    if (hosts === undefined) this.groups.set(group, (hosts = new Map()));
    const size = hosts.size;
    hosts.set(address, host);
    this.count += hosts.size - size;
  }

  delete(group: string, address: string): void {
    const hosts = this.groups.get(group);
    if (hosts === undefined || !hosts.delete(address)) return;
    this.count--;
    if (hosts.size === 0) this.groups.delete(group);
  }

  /** Every host with its group and address; deleting the entry just visited is allowed. */
  *entries(): IterableIterator<[group: string, address: string, host: UpstreamHost]> {
    for (const [group, hosts] of this.groups) for (const [address, host] of hosts) yield [group, address, host];
  }

  *values(): IterableIterator<UpstreamHost> {
    for (const hosts of this.groups.values()) yield* hosts.values();
  }

  clear(): void {
    this.groups.clear();
    this.count = 0;
  }
}
