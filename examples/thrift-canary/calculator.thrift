// The Calculator service used by the thrift-canary example, the tests and the benchmarks.
namespace py calculator
namespace js calculator

exception DivideByZero {
  1: string message
}

service Calculator {
  i32 add(1: i32 a, 2: i32 b),
  i32 subtract(1: i32 a, 2: i32 b),
  i32 divide(1: i32 a, 2: i32 b) throws (1: DivideByZero err),
  string echo(1: string text),
  /** Which server answered: "v1", "v2"... */
  string version(),
  /** Sleeps for `ms` milliseconds, then answers `ms`. */
  i32 sleep(1: i32 ms),
  /** The value of a THeader header the server received, or "" if absent. */
  string header(1: string key),
  oneway void record(1: string event)
}
