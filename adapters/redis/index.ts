// meta-mesh/redis: an ioredis-compatible client routed by the mesh
// (Aeraki's RedisService and RedisDestination, in-process).
export { createRedisClient } from './create-redis-client';
export { MeshRedis } from './mesh-redis';
export type { MeshRedisOptions } from './mesh-redis';
export { ReplyError } from 'ioredis';
