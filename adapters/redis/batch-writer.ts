// BatchWriter: gathers the commands sent to one Redis connection in one tick
// and writes them with a single socket write, as ioredis' auto-pipelining
// does, without building a Pipeline per batch. With RedisService
// settings.maxBufferSizeBeforeFlush set, it holds writes until that many bytes
// are buffered or bufferFlushTimeout passes (Envoy's buffering).
import type { Command, Redis } from 'ioredis';

type Writable = string | Buffer;

export class BatchWriter {
  private chunks: Writable[] = [];
  private bytes = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** The shape ioredis' sendCommand accepts as a pipeline stream. */
  private readonly stream: { isPipeline: true; destination: { redis: Redis }; write: (w: Writable) => void };

  constructor(
    private readonly connection: Redis,
    private readonly maxBufferBytes = 0,
    private readonly flushTimeoutMs = 3,
  ) {
    this.stream = { isPipeline: true, destination: { redis: connection }, write: (w) => this.push(w) };
  }

  /** Sends one command: batched when the connection is ready, else ioredis queues it until it is. */
  send(command: Command): void {
    const c = this.connection;
    if (c.status === 'ready') c.sendCommand(command, this.stream as never);
    else c.sendCommand(command);
  }

  private push(w: Writable): void {
    this.chunks.push(w);
    if (this.maxBufferBytes > 0) {
      this.bytes += typeof w === 'string' ? w.length : w.byteLength;
      if (this.bytes >= this.maxBufferBytes) return this.flush();
      if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.flushTimeoutMs);
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  private readonly flushNow = (): void => this.flush();

  private flush(): void {
    this.scheduled = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    this.chunks = [];
    this.bytes = 0;
    const socket = (this.connection as unknown as { stream?: NodeJS.WritableStream }).stream;
    if (socket === undefined) return;
    let allStrings = true;
    for (const c of chunks) if (typeof c !== 'string') allStrings = false;
    if (allStrings) socket.write(chunks.length === 1 ? (chunks[0] as string) : chunks.join(''));
    else socket.write(Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));
  }
}
