/**
 * The worker thread of `parallel.ts`: rebuilds the model over the shared weight buffer once, then for
 * every step message computes its examples' gradients, one slot each, and replies with their losses.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { paramSpecs, paramsFromNamed } from "../model/params.ts";
import { Tensor } from "../tensor/tensor.ts";
import { exampleGradient, type GradientJob, type GradientWorkerInit } from "./parallel.ts";
import { trainableParams } from "./trainer.ts";

/**
 * Runs in the worker: answers `{ jobs, weight }` messages with `{ losses }` (or `{ error }`).
 *
 * @example
 * ```ts
 * // never called directly: spawnWorker starts a thread that imports this module and calls workerMain()
 * ```
 * @category Training
 */
export function workerMain(): void {
  const init = (workerData as { data: GradientWorkerInit }).data;
  const { config, options } = init;
  const weights = new Float64Array(init.weights);
  const slots = new Float64Array(init.gradients);
  const byName = new Map<string, Tensor>();
  let at = 0;
  for (const { name, shape } of paramSpecs(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    byName.set(name, new Tensor(weights.subarray(at, at + size), shape));      // a view: no copy
    at += size;
  }
  if (at !== weights.length) throw new Error(`gradient worker: the config implies ${at} weights, the main thread shared ${weights.length}`);
  const total = at;
  const params = paramsFromNamed(config, (name) => byName.get(name)!);
  const trainable = trainableParams(config, params);

  parentPort!.on("message", (message: { jobs: GradientJob[]; weight: number }) => {
    try {
      const losses = message.jobs.map(({ slot, example }) =>
        exampleGradient(config, params, trainable.tensors, example, options, message.weight, slots.subarray(slot * total, (slot + 1) * total)));
      parentPort!.postMessage({ losses });
    } catch (error) {
      parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  });
}
