import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BACKGROUND_NICE } from '../../lib/config/background-priority';

/** Runs lowerThreadPriority in a new thread; its result and the nice values of that thread and of the process after. */
async function lowerInThread(): Promise<{ lowered: boolean; thread: number; process: number }> {
  const module = path.join(__dirname, '..', '..', 'lib', 'config', 'background-priority.js');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { readlinkSync } = require('node:fs');
    const { getPriority } = require('node:os');
    const lowered = require(${JSON.stringify(module)}).lowerThreadPriority();
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    parentPort.postMessage({ lowered, thread: getPriority(tid), process: getPriority(process.pid) });`;
  const worker = new Worker(code, { eval: true });
  try {
    return await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  } finally {
    await worker.terminate();
  }
}

describe('lowerThreadPriority (the parser thread runs as background work)', () => {
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('lowers the calling thread only: the main thread (the process id) keeps its priority', async () => {
    const mainBefore = getPriority(process.pid);
    const seen = await lowerInThread();
    assert.equal(seen.lowered, mainBefore < 19);
    assert.equal(seen.thread, Math.min(19, mainBefore + BACKGROUND_NICE), 'the thread runs BACKGROUND_NICE steps below the thread that made it');
    assert.equal(seen.process, mainBefore, 'the process (its main thread) is untouched');
    assert.equal(getPriority(process.pid), mainBefore);
  });
});
