// ConfigWatcher: ConfigMap symlink swaps and rename-writing editors reload;
// a file caught mid-rewrite (half-written, or empty) never becomes the config.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh, type MeshError, type Snapshot } from 'meta-mesh';
import { ConfigWatcher, type WatcherTimers } from '../../lib/config/config-watcher';
import { meshYaml } from '../support/mesh-yaml';

const HOST = 'watched.svc';

function yaml(routes: string[]): string {
  return meshYaml({
    host: HOST,
    port: 9090,
    endpoints: [{ port: 19090, version: 'v1' }],
    routes: routes.map((r) => `    - name: ${r}\n      route:\n        - destination:\n            host: ${HOST}\n            subset: v1`).join('\n'),
  });
}

const routeNames = (s: Snapshot): string[] => s.routeConfigs.get(`${HOST}_9090`)!.routes.map((r) => r.name);

/** Resolves with the next config the mesh applies, or rejects after `ms` (the watcher missed the edit). */
function nextConfig(mesh: Mesh, ms = 10_000): Promise<Snapshot> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reload within ${ms} ms`)), ms);
    mesh.once('config', (s) => {
      clearTimeout(timer);
      resolve(s);
    });
  });
}

/** The layout the kubelet's AtomicWriter gives a ConfigMap volume, with one way to update it as the kubelet does. */
class ConfigMapVolume {
  private generation = 0;
  private current: string;
  constructor(
    readonly dir: string,
    files: Record<string, string>,
  ) {
    this.current = this.writeGeneration(files);
    fs.symlinkSync(this.current, path.join(dir, '..data'));
    for (const name of Object.keys(files)) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
  }

  /** New timestamped dir, `..data_tmp` pointing at it, renamed over `..data`, then the old dir removed. */
  update(files: Record<string, string>): void {
    const next = this.writeGeneration(files);
    const tmp = path.join(this.dir, '..data_tmp');
    fs.symlinkSync(next, tmp);
    fs.renameSync(tmp, path.join(this.dir, '..data'));
    fs.rmSync(path.join(this.dir, this.current), { recursive: true });
    this.current = next;
  }

  private writeGeneration(files: Record<string, string>): string {
    const name = `..2026_12_07_10_00_0${this.generation++}.${String(100000000 + this.generation)}`;
    fs.mkdirSync(path.join(this.dir, name));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(this.dir, name, file), text);
    return name;
  }
}

describe('ConfigWatcher', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-watch-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const target of ['the file', 'the directory'] as const) {
    it(`reloads a Kubernetes ConfigMap volume when the kubelet swaps ..data (config names ${target})`, async () => {
      const volume = new ConfigMapVolume(dir, { 'mesh.yaml': yaml(['one']) });
      const mesh = await Mesh.start({ config: target === 'the file' ? path.join(dir, 'mesh.yaml') : dir, preconnect: false, logger: () => undefined });
      try {
        assert.deepEqual(routeNames(mesh.snapshot), ['one']);
        const reloaded = nextConfig(mesh);
        volume.update({ 'mesh.yaml': yaml(['one', 'two']) });
        assert.deepEqual(routeNames(await reloaded), ['one', 'two']);
        const again = nextConfig(mesh);
        volume.update({ 'mesh.yaml': yaml(['three']) });
        assert.deepEqual(routeNames(await again), ['three']);
      } finally {
        await mesh.close();
      }
    });
  }

  it('reloads when an editor writes a temporary file and renames it over the config', async () => {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, yaml(['one']));
    const mesh = await Mesh.start({ config: file, preconnect: false, logger: () => undefined });
    try {
      const reloaded = nextConfig(mesh);
      const tmp = path.join(dir, '.mesh.yaml.swp');
      fs.writeFileSync(tmp, yaml(['one', 'two']));
      fs.renameSync(tmp, file);
      assert.deepEqual(routeNames(await reloaded), ['one', 'two']);
    } finally {
      await mesh.close();
    }
  });

  describe('with timers stepped by hand', () => {
    /** Timers the test fires itself: `fire()` waits until the watcher has set one, then runs it. */
    class ManualTimers implements WatcherTimers {
      private pending = new Map<number, () => void>();
      private next = 0;
      private waiting: (() => void) | undefined;
      set(callback: () => void): unknown {
        const id = ++this.next;
        this.pending.set(id, callback);
        this.waiting?.();
        return id;
      }
      clear(handle: unknown): void {
        this.pending.delete(handle as number);
      }
      /** Resolves once the watcher has a timer set (its read finished and it wants to read again). */
      async pendingTimer(): Promise<void> {
        while (this.pending.size === 0) await new Promise<void>((r) => (this.waiting = r));
        this.waiting = undefined;
      }
      async fire(): Promise<void> {
        await this.pendingTimer();
        this.runLatest();
      }
      /** Runs the watcher's timers as it sets them until `done()` holds. */
      async until(done: () => boolean): Promise<void> {
        while (!done()) {
          if (this.pending.size > 0) this.runLatest();
          await new Promise((r) => setImmediate(r));
        }
      }
      private runLatest(): void {
        const [id, callback] = [...this.pending][this.pending.size - 1]!;
        this.pending.delete(id);
        callback();
      }
    }

    function watch(file: string): { watcher: ConfigWatcher; timers: ManualTimers; applied: Snapshot[]; errors: MeshError[] } {
      const timers = new ManualTimers();
      const applied: Snapshot[] = [];
      const errors: MeshError[] = [];
      const watcher = new ConfigWatcher([file], (s) => applied.push(s), (e) => errors.push(e), { timers });
      watcher.start();
      return { watcher, timers, applied, errors };
    }

    it('applies a rewrite only once two reads agree: the half-written file never becomes the config', async () => {
      const file = path.join(dir, 'mesh.yaml');
      fs.writeFileSync(file, yaml(['one', 'two', 'three']));
      const { watcher, timers, applied } = watch(file);
      try {
        // A non-atomic rewrite: the first part lands (itself a valid config with one route)...
        const full = yaml(['one', 'two', 'three']).replace('name: one', 'name: uno');
        const half = yaml(['uno']);
        fs.writeFileSync(file, half);
        await timers.fire(); // debounce over: first read sees the half
        await timers.pendingTimer(); // the read is done
        assert.equal(applied.length, 0, 'applied a file read once');
        // ... and the rest lands before the settle read.
        fs.writeFileSync(file, full);
        await timers.until(() => applied.length > 0);
        assert.equal(applied.length, 1);
        assert.deepEqual(routeNames(applied[0]!), ['uno', 'two', 'three']);
      } finally {
        watcher.close();
      }
    });

    it('keeps the previous config when the file reads empty, and says why', async () => {
      const file = path.join(dir, 'mesh.yaml');
      fs.writeFileSync(file, yaml(['one']));
      const { watcher, timers, applied, errors } = watch(file);
      try {
        fs.writeFileSync(file, '');
        await timers.until(() => errors.length > 0);
        assert.equal(applied.length, 0, 'an empty file became the config');
        assert.equal(errors[0]!.code, 'CONFIG');
        assert.match(errors[0]!.message, /empty/);
        // The writer finishes: that applies.
        fs.writeFileSync(file, yaml(['two']));
        await timers.until(() => applied.length > 0);
        assert.deepEqual(routeNames(applied[0]!), ['two']);
      } finally {
        watcher.close();
      }
    });
  });
});
