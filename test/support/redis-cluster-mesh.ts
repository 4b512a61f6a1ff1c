// The start-up and teardown the Redis tests share: a mesh on YAML written to a
// fresh temp dir, and a real 6-node Redis Cluster with a mesh that knows it as
// one CLUSTER-mode host.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from '../../lib';
import { RedisCluster } from './redis-server';
import { redisClusterDestination, redisServiceEntry } from './redis-yaml';

export interface YamlMesh {
  readonly mesh: Mesh;
  /** Closes the mesh and removes its config dir. */
  close(): Promise<void>;
}

/** A mesh (no file watch) on `yaml`, written as mesh.yaml into a fresh temp dir. */
export async function startYamlMesh(yaml: string): Promise<YamlMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-'));
  try {
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml);
    const mesh = await Mesh.start({ config: dir, watch: false });
    return {
      mesh,
      close: async () => {
        await mesh.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface RedisClusterMesh extends YamlMesh {
  readonly cluster: RedisCluster;
}

/**
 * A real Redis Cluster (3 masters, 3 replicas; `nodeTimeoutMs` is its
 * cluster-node-timeout) and a mesh whose YAML declares `host` over its nodes
 * as a CLUSTER-mode RedisDestination, followed by `manifests(ports)`.
 * `close` ends the mesh, then the cluster.
 */
export async function startRedisClusterMesh(options: {
  readonly host: string;
  readonly nodeTimeoutMs: number;
  readonly manifests: (ports: readonly number[]) => string;
}): Promise<RedisClusterMesh> {
  const cluster = await RedisCluster.start({ nodeTimeoutMs: options.nodeTimeoutMs });
  let yamlMesh: YamlMesh;
  try {
    yamlMesh = await startYamlMesh(redisServiceEntry(options.host, cluster.ports) + redisClusterDestination(options.host) + options.manifests(cluster.ports));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return {
    cluster,
    mesh: yamlMesh.mesh,
    close: async () => {
      await yamlMesh.close();
      await cluster.close();
    },
  };
}
