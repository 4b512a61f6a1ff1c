// Timing checks of the perf harness itself: they need a quiet machine, so they
// run with `npm run bench`, not in `npm test` (where a busy CI core made them
// fail while nothing was wrong). Prints each check and exits non-zero if one fails.
import { openLoop } from './perf/load-shapes';
import { runBench } from './support/run-bench';

interface Check {
  readonly name: string;
  run(): Promise<string | undefined>;
}

const checks: Check[] = [
  {
    name: 'a client that blocks its own loop is charged to the send, a slow answer to the path',
    async run() {
      // Something else in the client blocks its event loop for 8 ms every 50 ms: the calls due meanwhile go out late.
      const hog = setInterval(() => {
        const until = performance.now() + 8;
        while (performance.now() < until);
      }, 50);
      const blocking = await openLoop(() => Promise.resolve(), 2000, 500, { drainMs: 1000 }).finally(() => clearInterval(hog));
      if (!(blocking.tailSendLagShare! > 0.5)) return `blocked loop: send-lag share ${blocking.tailSendLagShare} (want > 0.5)`;
      let n = 0;
      // Every 50th answer takes 40 ms while the loop stays free: the tail is all after the send.
      const slowAnswer = await openLoop(
        () => (++n % 50 === 0 ? new Promise((resolve) => setTimeout(resolve, 40)) : Promise.resolve()),
        2000,
        500,
        { drainMs: 1000 },
      );
      if (!(slowAnswer.tailSendLagShare! < 0.2)) return `slow answers: send-lag share ${slowAnswer.tailSendLagShare} (want < 0.2)`;
      return undefined;
    },
  },
  {
    name: 'the measured window of an open loop is its own length, not the warm-up’s',
    async run() {
      const result = await openLoop(() => Promise.resolve(), 1000, 100, { warmupMs: 50, drainMs: 1000 });
      // 100 calls at 1000/s take about 0.1 s.
      return result.seconds > 0.05 && result.seconds < 0.5 ? undefined : `window of ${result.seconds} s (want 0.05..0.5)`;
    },
  },
];

async function main(): Promise<void> {
  let failed = 0;
  for (const check of checks) {
    const problem = await check.run();
    console.log(`${problem === undefined ? 'ok  ' : 'FAIL'} ${check.name}${problem === undefined ? '' : `: ${problem}`}`);
    if (problem !== undefined) failed++;
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

runBench(module, main);
