/**
 * The worker thread of `tensor/threads.ts`: a loop that waits for the next job, computes its range (output
 * columns of a product, or attention pairs) with the same kernel the calling thread runs, and signals
 * that it is done.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { CONTROL, JOB_EXIT, runShare, waitForChange, type KernelWorkerInit } from "../tensor/threads.ts";

/**
 * Runs in the worker: says "ready", then serves jobs until {@link JOB_EXIT}.
 *
 * @example
 * ```ts
 * // started by startKernelWorker (kernel-threads.ts) through spawnWorker; never called directly
 * workerMain();
 * ```
 * @category Threads
 */
export function workerMain(): void {
  const init = (workerData as { data: KernelWorkerInit }).data;
  const { index: j, control } = init;
  let seen = Atomics.load(control, CONTROL.SEQ);
  parentPort!.postMessage("ready");
  try {
    for (;;) {
      seen = waitForChange(control, CONTROL.SEQ, seen);
      if (control[CONTROL.KIND] === JOB_EXIT) return;
      runShare(init, control[CONTROL.RANGES + 2 * j], control[CONTROL.RANGES + 2 * j + 1]);
      Atomics.store(control, CONTROL.DONE + j, seen);
      Atomics.notify(control, CONTROL.DONE + j);
    }
  } catch (e) {
    Atomics.store(control, CONTROL.ERROR, 1);
    Atomics.notify(control, CONTROL.DONE + j);
    throw e;
  }
}
