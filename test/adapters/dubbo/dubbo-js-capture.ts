// Captures the exact bytes apache-dubbo-js writes, with a raw TCP server in
// its provider's place, and closes dubbo-js's sockets afterwards (it has no
// shutdown API: its socket workers retry and send heartbeats on timers).
import * as net from 'node:net';
import { Dubbo, java, Registry } from 'apache-dubbo-js';
import { shimNodeUtilForDubbo } from 'meta-mesh/dubbo';

/* eslint-disable @typescript-eslint/no-require-imports */
interface SocketWorkerLike {
  _retry: number;
  _heartBeatTimer?: NodeJS.Timeout;
  _retryTimeoutId?: NodeJS.Timeout;
  _socket?: net.Socket;
}
const socketWorkerModule = require('apache-dubbo-js/es7/socket-worker') as { default: { from(url: string): SocketWorkerLike } };
const SettingClass = (require('apache-dubbo-js/es7/setting') as { Setting: new () => { match(i: string, s: object): unknown } }).Setting;
const heartbeat = require('apache-dubbo-js/es7/heartbeat') as { default: { encode(): Buffer; isHeartBeat(b: Buffer): boolean } };

// apache-dubbo-js calls util helpers Node 23 removed (a no-op on Node 20 and 22).
shimNodeUtilForDubbo();
/* eslint-enable @typescript-eslint/no-require-imports */

export const dubboJsHeartbeat = heartbeat.default;

/** Records every dubbo-js socket worker created until `stop()`, and closes them for good. */
export function trackSocketWorkers(): { close(): void } {
  const original = socketWorkerModule.default.from;
  const workers: SocketWorkerLike[] = [];
  socketWorkerModule.default.from = (url: string) => {
    const worker = original.call(socketWorkerModule.default, url);
    workers.push(worker);
    return worker;
  };
  return {
    close() {
      socketWorkerModule.default.from = original;
      for (const w of workers) {
        // No retries left: the close handler then gives up instead of arming a 3 s retry timer.
        w._retry = 0;
        clearInterval(w._heartBeatTimer);
        clearTimeout(w._retryTimeoutId);
        w._socket?.destroy();
      }
    },
  };
}

/**
 * Runs `calls` against a raw server standing in for the provider and returns
 * the request frames dubbo-js wrote (each answered with a null result).
 */
export async function captureDubboJsRequests(
  calls: (demo: Record<string, (...args: unknown[]) => Promise<unknown>>) => Promise<unknown>,
  options: { group?: string; attachments?: Record<string, string> } = {},
): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 16 && pending.length >= 16 + pending.readUInt32BE(12)) {
        const frame = pending.subarray(0, 16 + pending.readUInt32BE(12));
        pending = pending.subarray(frame.length);
        frames.push(Buffer.from(frame));
        // A NULL_VALUE result (flag 2) for the same request id.
        const reply = Buffer.from([0xda, 0xbb, 0x02, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x92]);
        frame.copy(reply, 4, 4, 12);
        socket.write(reply);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const tracker = trackSocketWorkers();
  class Direct extends Registry {
    constructor(props: object) {
      super(props);
      const self = this as unknown as { _dubboServiceUrlMap: Map<string, object[]>; _subscriber: { onData(s: Set<string>): void } };
      self._dubboServiceUrlMap.set('org.example.DemoService', [
        { host: '127.0.0.1', port, path: 'org.example.DemoService', dubboVersion: '2.0.2', version: '1.0.0', group: options.group ?? '' },
      ]);
      setImmediate(() => self._subscriber.onData(new Set([`127.0.0.1:${port}`])));
    }
  }
  const dubbo = new Dubbo({
    application: { name: 'capture' },
    register: (props: unknown) => new Direct(props as object),
    dubboSetting: new SettingClass().match('org.example.DemoService', { version: '1.0.0', group: options.group }) as never,
    service: {
      demo: (d: Dubbo) =>
        d.proxyService({
          dubboInterface: 'org.example.DemoService',
          methods: {
            sayHello: (name: string) => [java.String(name)],
            add: (a: number, b: number) => [java.int(a), java.long(b)],
            save: (user: object, tags: string[]) => [java.combine('org.example.User', user), java.List(tags.map((t) => java.String(t)))],
          },
        }),
    },
  });
  if (options.attachments !== undefined) {
    const attachments = options.attachments;
    dubbo.use(async (ctx: { attachments: Record<string, string> }, next: () => Promise<void>) => {
      ctx.attachments = attachments;
      await next();
    });
  }
  try {
    await calls((dubbo.service as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>).demo!);
  } finally {
    tracker.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return frames;
}
