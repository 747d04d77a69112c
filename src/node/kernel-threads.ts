/**
 * Kernel threads on Node's worker threads: {@link startKernelWorker} starts one worker of a
 * `KernelThreads` pool (`tensor/threads.ts`, which shares the memory and hands out the jobs), and
 * {@link startKernelThreads} puts a model's weights into a pool's shared memory.
 *
 * Node only (`node:worker_threads`): the pool itself, the kernels and the forward run anywhere.
 *
 * Read next: `kernel-worker.ts`, the loop each worker runs.
 *
 * @module
 */
import { once } from "node:events";
import { headDim, type ModelConfig } from "../model/config.ts";
import { namedParams, paramsFromNamed, type Params } from "../model/params.ts";
import { KernelThreads, type KernelWorkerInit } from "../tensor/threads.ts";
import { spawnWorker } from "../util/workers.ts";

/**
 * Starts one kernel worker on a Node worker thread (`kernel-worker.ts`) and waits until it is about to
 * enter its loop (`once` rejects when the worker emits "error" first); resolves to a function that
 * waits until the worker has ended.
 *
 * @example
 * ```ts
 * const pool = await KernelThreads.start(2, [weight], startKernelWorker); // one worker thread + the calling thread
 * ```
 * @category Threads
 */
export async function startKernelWorker(init: KernelWorkerInit): Promise<() => Promise<void>> {
  const worker = spawnWorker(new URL("./kernel-worker.ts", import.meta.url), init);
  await once(worker, "message");                                      // "ready"
  worker.unref();                                                     // an idle pool never keeps the process alive
  return () => new Promise<void>((resolve) => {
    worker.ref();                                                     // keep the process alive until it has seen the exit job
    worker.once("exit", () => resolve());
  });
}

/**
 * Weights in a kernel-thread pool's shared memory, and the pool.
 *
 * @category Model
 */
export interface SharedParams {
  /** The same weights, in the pool's shared arena: pass these with the pool to `forward` or `cpuRunner`. */
  readonly params: Params;
  /** The threads: `forward(config, params, tokens, { threads: pool })`; `await pool.close()` when done. */
  readonly pool: KernelThreads;
}

/**
 * Starts `threads` kernel threads for inference on `params`: the weights are copied into the pool's
 * shared memory, and a `forward` given the returned params and the pool then splits its products, its
 * attention and its SiLU over the threads — bit-identical to one thread. A decoder uses them through
 * `cpuRunner(config, shared, pool)`. Close the pool when done.
 *
 * @param threads - threads that compute, the calling thread included
 * @example
 * ```ts
 * const { params: shared, pool } = await startKernelThreads(config, params, 2);
 * forward(config, shared, tokens, { threads: pool }); // same logits as forward(config, params, tokens), on two cores
 * await pool.close();
 * ```
 * @category Model
 */
export async function startKernelThreads(config: ModelConfig, params: Params, threads: number): Promise<SharedParams> {
  const named = namedParams(config, params);
  const pool = await KernelThreads.start(threads, named.map(([, t]) => t), startKernelWorker, {
    attention: { numHeads: config.numHeads, numKeyValueHeads: config.numKeyValueHeads, headDim: headDim(config), maxKeys: config.maxPositions },
  });
  const byName = new Map(named.map(([name], i) => [name, pool.tensors[i]]));
  return { params: paramsFromNamed(config, (name) => byName.get(name)!), pool };
}
