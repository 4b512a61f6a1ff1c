// lowerThreadPriority: the parser thread's work (a large config's parse) is
// background work, and on a machine with few cores it competed with the main
// thread and the process's peers for the CPU while calls were in flight: a
// reload's event-loop gaps were mostly time the main thread waited for a core,
// not time it ran. At a lower priority the thread takes what the calls leave.

import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much lower than the thread that starts it the parser thread runs (in nice steps; 19 is the lowest priority). */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's scheduling priority by BACKGROUND_NICE steps,
 * down to the lowest (Linux: each thread has its own nice value, inherited
 * from the thread that made it, and set through its thread id). Elsewhere, or
 * when the system refuses, the thread keeps its priority; returns whether it
 * was lowered.
 */
export function lowerThreadPriority(): boolean {
  let tid: number;
  try {
    // "<pid>/task/<tid>"
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return false;
  }
  if (!Number.isInteger(tid) || tid <= 0) return false;
  try {
    const nice = getPriority(tid);
    if (nice >= 19) return false;
    setPriority(tid, Math.min(19, nice + BACKGROUND_NICE));
    return true;
  } catch {
    return false;
  }
}
