// runBench: the tail every bench file had its own copy of. When the file is
// the program (`node dist/bench/x.bench.js`, as bench/run.ts starts each one),
// it runs the bench, hands the result to `report` (default: print it as JSON,
// nothing for undefined), and sets the exit code: 1 when the bench throws,
// else whatever the bench or `report` set. With `exit`, the process ends
// there, for benches whose servers or workers would keep it alive.

export interface RunBenchOptions<T> {
  readonly report?: (result: T) => void;
  readonly exit?: boolean;
}

export function runBench<T>(caller: NodeJS.Module, bench: () => T | Promise<T>, options: RunBenchOptions<T> = {}): void {
  if (require.main !== caller) return;
  const report = options.report ?? printJson;
  const done = (failed: boolean): void => {
    if (failed) process.exitCode = 1;
    if (options.exit === true) process.exit();
  };
  Promise.resolve()
    .then(() => bench())
    .then(
      (result) => {
        report(result);
        done(false);
      },
      (err: unknown) => {
        console.error(err);
        done(true);
      },
    )
    .catch((err: unknown) => {
      // A report that throws fails the run too.
      console.error(err);
      done(true);
    });
}

/** The default report: the result as indented JSON (nothing for a bench that returns nothing). */
export function printJson(result: unknown): void {
  if (result !== undefined) console.log(JSON.stringify(result, null, 2));
}
