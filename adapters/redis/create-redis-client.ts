// The one-line change from ioredis: `new Redis(port, host)` becomes
// `createRedisClient(mesh, host, port)`.
import type { Mesh } from '../../lib/mesh';
import { MeshRedis, type MeshRedisOptions } from './mesh-redis';

/** An ioredis-compatible client whose commands the mesh routes by key (RedisService, RedisDestination). */
export function createRedisClient(mesh: Mesh, host: string, port: number, options?: MeshRedisOptions): MeshRedis {
  return new MeshRedis(mesh, host, port, options);
}
