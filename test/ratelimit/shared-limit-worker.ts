// A child process for the shared-limit test: one RedisRateLimiter in its own
// process, sending `requests` checks (8 in flight) once the parent says go,
// then reporting how many were admitted.
import { RedisRateLimiter } from '../../lib/ratelimit';

interface Job {
  port: number;
  domain: string;
  requests: number;
  requestsPerDay: number;
  leaseSize?: number;
}

process.once('message', (job: Job) => void run(job).catch(fail));

async function run(job: Job): Promise<void> {
  const limiter = new RedisRateLimiter({
    redis: { host: '127.0.0.1', port: job.port },
    rules: { domain: job.domain, descriptors: [{ key: 'method', rate_limit: { unit: 'day', requests_per_unit: job.requestsPerDay } }] },
    requestTimeoutMs: 2000,
    lease: job.leaseSize === undefined ? undefined : { size: job.leaseSize },
  });
  await limiter.ready();
  process.send!({ ready: true });
  process.once('message', () => void go(limiter, job).catch(fail));
}

async function go(limiter: RedisRateLimiter, job: Job): Promise<void> {
  let admitted = 0;
  let next = 0;
  const descriptor = [[{ key: 'method', value: 'add' }]];
  const lane = async (): Promise<void> => {
    while (next < job.requests) {
      next++;
      if (!(await limiter.shouldLimit(job.domain, descriptor))) admitted++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  const stats = limiter.stats;
  await limiter.close();
  process.send!({ admitted, redisCalls: stats.redisCalls, failed: stats.failed }, () => process.exit(0));
}

function fail(err: unknown): void {
  console.error(err);
  process.exit(1);
}
