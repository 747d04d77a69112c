/**
 * The worker thread of `threads.ts`: a loop that waits for the next job, computes its range (output
 * columns of a product, or attention pairs) with the same kernel the calling thread runs, and signals
 * that it is done.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { matmulTransposedColumns } from "./kernels.ts";
import { attentionJob, CONTROL, JOB_ATTENTION, JOB_EXIT, JOB_SILU, siluRange, waitForChange, type KernelWorkerInit } from "./threads.ts";

/**
 * Runs in the worker: says "ready", then serves jobs until {@link JOB_EXIT}.
 *
 * @example
 * ```ts
 * // started by KernelThreads.start through spawnWorker; never called directly
 * workerMain();
 * ```
 * @category Threads
 */
export function workerMain(): void {
  const { index: j, control, arena, input, output, attention } = (workerData as { data: KernelWorkerInit }).data;
  let seen = Atomics.load(control, CONTROL.SEQ);
  parentPort!.postMessage("ready");
  try {
    for (;;) {
      seen = waitForChange(control, CONTROL.SEQ, seen);
      const kind = control[CONTROL.KIND];
      if (kind === JOB_EXIT) return;
      const n0 = control[CONTROL.RANGES + 2 * j], n1 = control[CONTROL.RANGES + 2 * j + 1];
      if (kind === JOB_ATTENTION) {
        attentionJob(control, attention!, n0, n1);
      } else if (kind === JOB_SILU) {
        siluRange(output, input, n0, n1);
      } else {
        const M = control[CONTROL.M], K = control[CONTROL.K], N = control[CONTROL.N];
        const offset = control[CONTROL.WEIGHT];
        if (n0 < n1) matmulTransposedColumns(output, input, arena.subarray(offset, offset + N * K), M, K, N, n0, n1);
      }
      Atomics.store(control, CONTROL.DONE + j, seen);
      Atomics.notify(control, CONTROL.DONE + j);
    }
  } catch (e) {
    Atomics.store(control, CONTROL.ERROR, 1);
    Atomics.notify(control, CONTROL.DONE + j);
    throw e;
  }
}
