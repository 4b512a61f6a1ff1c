// PROXY mode picks a key's server as Envoy's redis_proxy does: MurmurHash2-64
// (libstdc++'s std::hash<std::string>, seed 0xc70f6907) of the key, or of its
// {hashtag} with enableHashtagging, into the cluster's maglev table (hosts by
// "address:port", xxHash64 offset/skip, 65537 entries). The hash vectors were
// computed with g++'s std::hash<std::string> on x86-64; the table is rebuilt
// here from the algorithm, independently of lib/cluster/lb.
import assert from 'node:assert/strict';
import { murmurHash2_64, murmurHash2_64Mod } from '../../../adapters/redis/murmur-hash2';
import { hashtagOf, ProxyBackend, type BackendSpec } from '../../../adapters/redis/redis-backend';
import { xxhash64 } from '../../../lib/protocol/xxhash64';

/** std::hash<std::string>{}(s) from libstdc++ (g++ 12, x86-64). */
const STD_HASH: readonly [string, bigint][] = [
  ['', 0x553e93901e462a6en],
  ['a', 0x454ddee488c1ed6bn],
  ['foo', 0x85a8e535edf11e5an],
  ['user:42', 0x7f4fa36430215121n],
  ['{user}:42', 0xd369743a126240ean],
  ['0123456789abcdef', 0x934b0d760642ed86n],
  ['exactly8', 0xbc769552f7635847n],
  ['hello world, fifteen+', 0x893a2b51f673b11cn],
  ['été', 0xc06adaf473848e7bn],
];

const TABLE_SIZE = 65537;

/** Envoy's maglev table for equal-weight hosts: each host, in "address:port" order, claims its next free preferred entry per round. */
function envoyMaglev(hosts: readonly string[]): number[] {
  const order = hosts.map((h, i) => ({ h, i })).sort((x, y) => (x.h < y.h ? -1 : x.h > y.h ? 1 : 0));
  const offset = order.map(({ h }) => Number(xxhash64(h) % BigInt(TABLE_SIZE)));
  const skip = order.map(({ h }) => Number(xxhash64(h, 1n) % BigInt(TABLE_SIZE - 1)) + 1);
  const next = order.map(() => 0);
  const table = new Array<number>(TABLE_SIZE).fill(-1);
  let filled = 0;
  while (filled < TABLE_SIZE) {
    for (let k = 0; k < order.length && filled < TABLE_SIZE; k++) {
      let c = (offset[k]! + skip[k]! * next[k]!) % TABLE_SIZE;
      while (table[c] !== -1) c = (offset[k]! + skip[k]! * ++next[k]!) % TABLE_SIZE;
      table[c] = order[k]!.i;
      next[k]!++;
      filled++;
    }
  }
  return table;
}

function spec(endpoints: readonly { address: string; port: number }[], enableHashtagging: boolean): BackendSpec {
  return {
    key: 'test',
    mode: 'PROXY',
    host: 'shards.redis',
    cluster: 'outbound|6379||shards.redis',
    endpoints,
    readPolicy: 'MASTER',
    enableHashtagging,
    enableRedirection: false,
    maxUpstreamUnknownConnections: 100,
    maxBufferSizeBeforeFlush: 0,
    bufferFlushTimeoutMs: 3,
  };
}

describe("PROXY-mode key hash (Envoy redis_proxy's)", () => {
  it('hashes as std::hash<std::string> (MurmurHash2-64, seed 0xc70f6907), UTF-8 bytes and every tail length', () => {
    for (const [key, want] of STD_HASH) assert.equal(murmurHash2_64(key), want, `'${key}'`);
    assert.equal(murmurHash2_64(Buffer.from('foo')), 0x85a8e535edf11e5an);
  });

  it('gives the table entry without BigInt: the same remainder as the 64-bit hash', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `k${i}:${'x'.repeat(i % 23)}`;
      for (const m of [65537, 3, 1_000_003]) assert.equal(murmurHash2_64Mod(key, m), Number(murmurHash2_64(key) % BigInt(m)), `${key} mod ${m}`);
    }
  });

  it('takes the hashtag as Envoy does: the first {...} with something inside, else the whole key', () => {
    assert.equal(hashtagOf('{user}:42'), 'user');
    assert.equal(hashtagOf('a{b}{c}'), 'b');
    assert.equal(hashtagOf('{}x{y}'), '{}x{y}');
    assert.equal(hashtagOf('x{y'), 'x{y');
    assert.equal(hashtagOf('plain'), 'plain');
  });

  it('sends each key to the server Envoy picks for the same key and endpoints', () => {
    const endpoints = [
      { address: '10.0.0.7', port: 6379 },
      { address: '10.0.0.12', port: 6379 },
      { address: '10.0.1.3', port: 6380 },
    ];
    const table = envoyMaglev(endpoints.map((e) => `${e.address}:${e.port}`));
    const plain = new ProxyBackend(spec(endpoints, false), () => true, () => undefined);
    const tagged = new ProxyBackend(spec(endpoints, true), () => true, () => undefined);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const key = `user:${i}`;
      const want = table[Number(murmurHash2_64(key) % BigInt(TABLE_SIZE))]!;
      assert.equal(plain.shardOf(key), want, key);
      seen.add(want);
      const taggedKey = `{tenant${i % 7}}:${key}`;
      assert.equal(tagged.shardOf(taggedKey), table[Number(murmurHash2_64(`tenant${i % 7}`) % BigInt(TABLE_SIZE))]!, taggedKey);
    }
    assert.equal(seen.size, 3, 'keys spread over every server');
    // Fixed vectors (table entry, then server), so a change to the table or the hash shows here too.
    const vectors: [string, number, number][] = [
      ['user:42', 17685, 0],
      ['foo', 36855, 2],
      ['a', 65089, 1],
      ['session:9f2c', 11305, 1],
    ];
    for (const [key, entry, server] of vectors) {
      assert.equal(Number(murmurHash2_64(key) % BigInt(TABLE_SIZE)), entry, key);
      assert.equal(table[entry], server, key);
      assert.equal(plain.shardOf(key), server, key);
    }
  });
});
