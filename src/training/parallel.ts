/**
 * Data-parallel gradients: the examples of one minibatch computed on several worker threads, with a
 * result that does not depend on how many threads there were.
 *
 * JavaScript runs one thread per realm, so the only way to use a second core for training is a second
 * realm (`worker_threads`). Each worker holds the model's configuration, reads the current weights from
 * a SharedArrayBuffer the main thread fills before every step, computes the gradient of its share of
 * the minibatch ONE EXAMPLE AT A TIME, and writes each example's gradient into its own slot of a shared
 * gradient buffer. The main thread then sums the slots in example order.
 *
 * Why one slot per example: floating-point addition is not associative, so "each worker sums its
 * examples, then the main thread sums the workers" would give different bits for 1, 2 or 16 workers.
 * Summing per-example gradients in example order gives the same bits for any number of workers — and
 * the single-thread path uses the very same per-example function and sum — so a run may be resumed with
 * another `--workers` and still repeat the uninterrupted run bit for bit (spec/parallel.spec.ts).
 *
 * Memory: one gradient slot per example of the batch, `batch × parameters` float64s (the math teacher's
 * 150k parameters, batch 8: 8 × 150k × 8 B ≈ 10 MB).
 *
 * @module
 */
import type { Worker } from "node:worker_threads";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { backward, zeroGrad } from "../tensor/autograd.ts";
import { scale } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { spawnWorker } from "../util/workers.ts";
import { distillLoss, type DistillExample, type DistillLossOptions } from "./distill-loss.ts";
import type { ExampleLosses, MinibatchGradients } from "./jacobi-forcing.ts";

// ---------------------------------------------------------------- one example

/**
 * The gradient of `weight · L(example)` with respect to `tensors`, written flat into `out` (checkpoint
 * order): zero the gradients, the example's loss (`distillLoss`: Jacobi Forcing's, plus the replay term
 * when the run replays), backward. The tensors' own `grad` buffers are used as scratch and left holding it.
 *
 * @param weight - the example's weight in the minibatch loss, `1 / batch` for a mean
 * @param out - receives the gradient, length = total size of `tensors`
 * @example
 * ```ts
 * // the math teacher's example of 914+169 (w = 16), one of a batch of 8
 * const slot = new Float64Array(trainable.tensors.reduce((n, t) => n + t.size, 0));
 * exampleGradient(config, params, trainable.tensors, ex, options, 1 / 8, slot);
 * // { loss: 0.00137, parts: { ar: 0.00011, consistency: 0.00026 } }; slot = 1/8 of its gradient
 * ```
 * @category Training
 */
export function exampleGradient(
  config: ModelConfig, params: Params, tensors: readonly Tensor[], example: DistillExample,
  options: DistillLossOptions, weight: number, out: Float64Array,
): ExampleLosses {
  zeroGrad(tensors);
  const { loss, parts } = distillLoss(config, params, example, options);
  backward(scale(loss, weight));
  let at = 0;
  for (const t of tensors) {
    if (t.grad === null) out.fill(0, at, at + t.size);
    else out.set(t.grad, at);
    at += t.size;
  }
  return { loss: loss.data[0], parts };
}

/**
 * Sets each tensor's `grad` to the sum of the first `count` per-example gradients in `slots`, added
 * in slot order (the order that makes the result independent of the number of workers).
 *
 * @param slots - `count` consecutive flat gradients
 * @example
 * ```ts
 * sumExampleGradients(trainable.tensors, slots, 8); // grad = g_0 + g_1 + ... + g_7, left to right
 * ```
 * @category Training
 */
export function sumExampleGradients(tensors: readonly Tensor[], slots: Float64Array, count: number): void {
  const total = tensors.reduce((n, t) => n + t.size, 0);
  if (slots.length < count * total) throw new RangeError(`sumExampleGradients: ${count} slots of ${total} need ${count * total} values, got ${slots.length}`);
  let at = 0;                                                               // where tensor t starts in a flat gradient
  for (const t of tensors) {
    const grad = t.grad ?? (t.grad = new Float64Array(t.size));
    for (let i = 0; i < t.size; i++) {
      let sum = slots[at + i];
      for (let e = 1; e < count; e++) sum += slots[e * total + at + i];
      grad[i] = sum;
    }
    at += t.size;
  }
}

// ---------------------------------------------------------------- the pool

/**
 * What a gradient worker is started with (built once by {@link GradientPool}).
 *
 * @category Training
 */
export interface GradientWorkerInit {
  /** The model's blueprint: the trainable tensors are its `paramSpecs`, in that order. */
  readonly config: ModelConfig;
  /** The weights, flat, checkpoint order, written by the main thread before every step. */
  readonly weights: SharedArrayBuffer;
  /** One flat gradient slot per example of the largest batch. */
  readonly gradients: SharedArrayBuffer;
  /** The loss's options. */
  readonly options: DistillLossOptions;
}

/**
 * One job of a step: an example and the slot its gradient goes to (slot 3: the 4th example of the batch).
 *
 * @category Training
 */
export interface GradientJob {
  /** Slot index = the example's index in the minibatch. */
  readonly slot: number;
  /** The example. */
  readonly example: DistillExample;
}

/**
 * Minibatch gradients of the distillation loss over `count` worker threads (count 1: no thread, the
 * same computation inline): the {@link MinibatchGradients} of `jacobiForcingStep`. Call
 * {@link GradientPool.close} when done.
 *
 * @example
 * ```ts
 * const pool = new GradientPool(4, config, trainable.tensors, 8, options);
 * const losses = await pool.gradients(params, examples); // each tensor's grad = the batch-mean gradient
 * await pool.close();
 * ```
 * @category Training
 */
export class GradientPool implements MinibatchGradients {
  private readonly workers: Worker[] = [];
  private readonly weights: Float64Array;
  private readonly slots: Float64Array;
  private readonly total: number;

  /**
   * @param count - worker threads (1: compute inline)
   * @param tensors - the trainable tensors (checkpoint order), whose `grad` receives each step's gradient
   * @param maxBatch - the most examples one step will have
   */
  constructor(
    readonly count: number, private readonly config: ModelConfig, private readonly tensors: readonly Tensor[], maxBatch: number,
    private readonly options: DistillLossOptions,
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`GradientPool: workers must be a positive integer, got ${count}`);
    this.total = tensors.reduce((s, t) => s + t.size, 0);
    // shared memory: the workers read the weights and write their gradient slots in place
    const weights = new SharedArrayBuffer(count > 1 ? this.total * 8 : 0);
    const gradients = new SharedArrayBuffer(maxBatch * this.total * 8);
    this.weights = new Float64Array(weights);
    this.slots = new Float64Array(gradients);
    if (count === 1) return;
    const init: GradientWorkerInit = { config, weights, gradients, options };
    for (let w = 0; w < count; w++) this.workers.push(spawnWorker(new URL("./gradient-worker.ts", import.meta.url), init));
  }

  /**
   * Sets every tensor's `grad` to the gradient of the mean loss over `examples`, and returns each
   * example's losses (in order). Bit-identical for any number of workers.
   *
   * @param params - the model (its trainable tensors are this pool's `tensors`)
   */
  async gradients(params: Params, examples: readonly DistillExample[]): Promise<ExampleLosses[]> {
    const weight = 1 / examples.length;
    if (examples.length * this.total > this.slots.length) {
      throw new RangeError(`GradientPool.gradients: ${examples.length} examples, but the pool was made for at most ${this.slots.length / this.total}`);
    }
    let losses: ExampleLosses[];
    if (this.workers.length === 0) {
      losses = examples.map((example, e) =>
        exampleGradient(this.config, params, this.tensors, example, this.options, weight, this.slots.subarray(e * this.total, (e + 1) * this.total)));
    } else {
      let at = 0;
      for (const t of this.tensors) {
        this.weights.set(t.data, at);
        at += t.size;
      }
      const jobs: GradientJob[] = examples.map((example, slot) => ({ slot, example }));
      // contiguous shares: worker w gets jobs [start(w), start(w + 1)), start(w) = floor(w·B/W)
      const start = (w: number): number => Math.floor((w * examples.length) / this.workers.length);
      const replies = await Promise.all(this.workers.map((worker, w) => request(worker, { jobs: jobs.slice(start(w), start(w + 1)), weight })));
      losses = replies.flat();
    }
    sumExampleGradients(this.tensors, this.slots, examples.length);
    return losses;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** Sends one step's jobs to a worker and waits for its losses (or its error). */
function request(worker: Worker, message: { jobs: GradientJob[]; weight: number }): Promise<ExampleLosses[]> {
  return new Promise((resolve, reject) => {
    // whichever comes first settles the step, and all three listeners go
    const settle = (error: Error | null, losses: ExampleLosses[] = []): void => {
      worker.off("message", onMessage);
      worker.off("error", settle);
      worker.off("exit", onExit);
      if (error === null) resolve(losses);
      else reject(error);
    };
    const onMessage = (reply: { losses?: ExampleLosses[]; error?: string }): void =>
      settle(reply.error === undefined ? null : new Error(`gradient worker: ${reply.error}`), reply.losses);
    const onExit = (code: number): void => settle(new Error(`gradient worker exited with code ${code} during a step`));
    worker.on("message", onMessage);
    worker.on("error", settle);
    worker.on("exit", onExit);
    worker.postMessage(message);
  });
}
