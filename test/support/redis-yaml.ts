// A ServiceEntry for a Redis host (a tcp-redis port 6379) whose endpoints are
// local redis-server ports, for tests, benchmarks and the demo.
export function redisServiceEntry(host: string, ports: readonly number[], name = host.split('.')[0]!): string {
  const endpoints = ports.map((p) => `{address: 127.0.0.1, ports: {tcp-redis: ${p}}}`).join(', ');
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  ports: [{number: 6379, name: tcp-redis, protocol: TCP}]
  resolution: STATIC
  endpoints: [${endpoints}]
---
`;
}

/** A RedisDestination that makes `host` a Redis Cluster (the mesh speaks to it with an ioredis Cluster). */
export function redisClusterDestination(host: string, name = host.split('.')[0]!): string {
  return `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: ${name}}
spec:
  host: ${host}
  trafficPolicy: {connectionPool: {redis: {mode: CLUSTER}}}
---
`;
}
