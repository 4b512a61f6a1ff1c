// Source IP blocks (AuthorizationPolicy ipBlocks / notIpBlocks, `when` on
// source.ip), compiled once. IPv4 blocks are compared as 32-bit integers
// (a peer's `::ffff:a.b.c.d` counts as IPv4); IPv6 goes through Node's BlockList.
import { BlockList, isIP } from 'node:net';

export type IpPredicate = (ip: string) => boolean;

export function ipBlockMatcher(blocks: readonly string[]): IpPredicate {
  const v4: { base: number; mask: number }[] = [];
  let v6: BlockList | undefined;
  for (const block of blocks) {
    const slash = block.indexOf('/');
    const address = slash < 0 ? block : block.slice(0, slash);
    const family = isIP(address);
    const bits = slash < 0 ? (family === 4 ? 32 : 128) : Number(block.slice(slash + 1));
    if (family === 4) {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push({ base: (ipv4ToInt(address)! & mask) >>> 0, mask });
    } else if (family === 6) {
      v6 ??= new BlockList();
      v6.addSubnet(address, bits, 'ipv6');
    }
  }
  return (ip) => {
    const n = ipv4ToInt(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
    if (n !== undefined) {
      for (let i = 0; i < v4.length; i++) if (((n & v4[i]!.mask) >>> 0) === v4[i]!.base) return true;
      return false;
    }
    return v6 !== undefined && isIP(ip) === 6 && v6.check(ip, 'ipv6');
  };
}

/** a.b.c.d → uint32, or undefined when `ip` is not dotted IPv4. */
export function ipv4ToInt(ip: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return n * 256 + part;
}
