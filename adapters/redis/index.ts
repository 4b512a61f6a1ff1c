// meta-mesh/redis: an ioredis-compatible client routed by the mesh
// (Aeraki's RedisService and RedisDestination, in-process), and the global
// rate limiter that keeps its counters in Redis. `ioredis` is an optional
// peer dependency: the application installs it.
import { requirePeers } from '../../lib/optional-peer';
requirePeers('meta-mesh/redis', ['ioredis']);

export { createRedisClient } from './create-redis-client';
export { MeshRedis } from './mesh-redis';
export type { MeshRedisOptions } from './mesh-redis';
export { ReplyError } from 'ioredis';
export { RedisRateLimiter } from '../../lib/ratelimit/redis-rate-limiter';
export type { RedisRateLimiterOptions, RedisRateLimiterStats } from '../../lib/ratelimit/redis-rate-limiter';
