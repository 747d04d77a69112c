/**
 * A model bound to a backend: the three things a decoder asks of a model, and nothing more.
 *
 * Every decoder does the same few things with a model: make an empty KV cache, forward some tokens
 * after it (with explicit positions and a mask when several drafts share a forward), take the argmax of
 * each row — or, when sampling, read the logits — and roll the cache back. `ModelRunner` names exactly
 * that, so one decoder runs unchanged on the CPU reference (`cpuRunner`, this file: `forward` of
 * `transformer.ts` on float64) or on the GPU (`webgpuRunner` in `src/backend/webgpu/`, float32 WGSL
 * kernels with the cache in GPU buffers). Decoders take a runner in their options and default to the
 * CPU one, so `jacobi(config, params, prompt, options)` reads as it always did.
 *
 * Why argmax is the runner's and not the decoder's: on a GPU the logits [T, V] stay on the device and
 * only T token ids come back. Both backends keep the one tie rule (the lowest index wins).
 *
 * What it is not: a tensor library. The backend boundary sits at the whole forward pass, because a GPU
 * forward must be one submission — a per-operation boundary would pay a round trip per kernel.
 *
 * Shape legend: T tokens in this call, P rows already in the cache, L = P + T, V vocabulary.
 *
 * Read next: `src/backend/webgpu/runner.ts`, the other implementation.
 *
 * @module
 */
import { argmax } from "../tensor/ops.ts";
import { ShapeError, type Tensor } from "../tensor/tensor.ts";
import type { KernelThreads } from "../tensor/threads.ts";
import { KVCache, type LayerRows } from "./cache.ts";
import type { ModelConfig } from "./config.ts";
import type { Params } from "./params.ts";
import { forward } from "./transformer.ts";

// ---------------------------------------------------------------- the interface

/**
 * A KV cache as a decoder sees it: a length that grows with each forward, and two ways to roll back.
 * {@link KVCache} is one; the WebGPU backend's cache is another (its rows live in GPU buffers).
 *
 * @category Model
 */
export interface SequenceCache {
  /** P: the number of positions whose keys and values are held. */
  readonly length: number;
  /** Forgets every position from `length` on (Jacobi's rollback); no data moves. */
  truncate(length: number): void;
  /** Keeps rows `0..length-1`, moves rows `from..from+count-1` right after them (see {@link KVCache.keepRows}). */
  keepRows(length: number, from: number, count: number): void;
  /**
   * A copy of the valid keys and values of one layer, each [P, Hkv*D] — for tests and tracing; on a GPU
   * this reads device memory back, so never call it on a hot path.
   */
  read(layer: number): LayerRows;
  /**
   * Gives the cache's memory back now; the cache is unusable afterwards. A GPU cache otherwise waits for
   * garbage collection, which a synchronous loop of decodes never lets run. The decoders release the
   * caches they make; absent (the CPU cache) when the garbage collector is enough.
   */
  release?(): void;
}

/**
 * Options of {@link ModelRunner.forward}: those of `transformer.forward`, with the runner's own cache.
 *
 * @category Model
 */
export interface RunnerForwardOptions {
  /** Cache to continue from and append to (made by the same runner); without one the call sees only its own tokens. */
  readonly cache?: SequenceCache;
  /** [T] absolute position of each token; default `P, P+1, ..., P+T-1`. */
  readonly positions?: ArrayLike<number>;
  /** [T, L] explicit visibility, 1 where query row i may attend to key j; default causal. */
  readonly mask?: Uint8Array;
}

/**
 * What one forward produced. The greedy tokens are always at hand; the full logits may have to be
 * fetched (from GPU memory), and only until the runner's next forward.
 *
 * @category Model
 */
export interface ForwardResult {
  /** T, the number of rows. */
  readonly rows: number;
  /** [T] argmax of each row of the logits, the lowest index winning ties. */
  argmax(): Int32Array;
  /** [T, V] the logits themselves (float64; a GPU's float32 values widened). Call before the next forward. */
  logits(): Tensor;
}

/**
 * What a decoder knows about the forwards it will make on a new cache. A hint: it never changes a result.
 * The WebGPU runner encodes each forward's commands while the GPU runs the one before, for as many tokens
 * as it expects; after a prompt it expects what the last decode's steps forwarded, unless told here
 * (a program that switches between decoders then guesses right). The CPU runner checks it and has no other use for it.
 *
 * @category Model
 */
export interface NewCacheOptions {
  /** Tokens in the first forward after the prompt (a positive whole number): 1 for AR, n for Jacobi. */
  readonly firstStep?: number;
}

/**
 * Throws a RangeError naming `where` unless `options.firstStep` is absent or a positive whole number.
 *
 * @example
 * ```ts
 * checkNewCacheOptions({ firstStep: 0 }, "cpu runner newCache"); // throws: cpu runner newCache: firstStep must be a positive whole number of tokens, got 0
 * ```
 * @category Model
 */
export function checkNewCacheOptions(options: NewCacheOptions | undefined, where: string): void {
  const firstStep = options?.firstStep;
  if (firstStep !== undefined && !(Number.isInteger(firstStep) && firstStep >= 1)) {
    throw new RangeError(`${where}: firstStep must be a positive whole number of tokens, got ${firstStep}`);
  }
}

/**
 * A model (config and weights) bound to a backend. Decoders call it and never learn which backend runs.
 *
 * @category Model
 */
export interface ModelRunner {
  /** Which backend runs: `"cpu"` or `"webgpu"`. */
  readonly backend: string;
  /**
   * Forwards of the same T after which a forward of T runs at its steady-state cost, as in decoding
   * (the WebGPU runner encodes each forward ahead, for the largest T of its last few); absent: none.
   * A measurement of the cost of a T-token forward runs this many untimed first.
   */
  readonly settleForwards?: number;
  /** The blueprint of the model it runs. */
  readonly config: ModelConfig;
  /** An empty cache for one sequence, in this backend's memory; `options` may say what the decode will forward. */
  newCache(options?: NewCacheOptions): SequenceCache;
  /** Next-token logits for each of `tokens` [T], appending their keys and values to `options.cache`. */
  forward(tokens: ArrayLike<number>, options?: RunnerForwardOptions): ForwardResult;
  /** Releases what the backend holds (a GPU device, a worker thread); the runner is unusable afterwards. */
  close(): void;
}

/**
 * The option every decoder takes to choose its backend.
 *
 * @category Model
 */
export interface RunnerOption {
  /** The backend that runs the forward passes; default the CPU reference, `cpuRunner(config, params)`. */
  readonly runner?: ModelRunner;
}

// ---------------------------------------------------------------- the CPU reference

/**
 * The CPU backend: `transformer.forward` on float64 with a {@link KVCache}. This is the reference the
 * GPU backend is tested against. Given kernel threads, every forward runs on them (same bits), so a
 * decoder handed this runner uses several cores without knowing it; the caller closes the pool.
 *
 * @param config - the blueprint
 * @param params - the weights; with `threads`, the params `startKernelThreads` returned with them
 * @param threads - kernel threads to run the forwards on; default this thread only
 * @example
 * ```ts
 * cpuRunner(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 })).forward([1, 40]).logits().shape; // [2, 100]
 * const { params: shared, pool } = await startKernelThreads(config, params, 2);
 * jacobi(config, params, prompt, { runner: cpuRunner(config, shared, pool) }); // on two cores, same tokens
 * await pool.close();
 * ```
 * @category Model
 */
export function cpuRunner(config: ModelConfig, params: Params, threads?: KernelThreads): ModelRunner {
  return {
    backend: "cpu",
    config,
    newCache: (options) => {
      checkNewCacheOptions(options, "cpu runner newCache");                  // a hint the CPU has no use for, still checked
      return new KVCache(config);
    },
    forward(tokens, options = {}) {
      const { cache } = options;
      if (cache !== undefined && !(cache instanceof KVCache)) {
        throw new ShapeError("cpuRunner.forward: the cache was made by another backend's runner");
      }
      const logits = forward(config, params, tokens, { ...options, cache, threads });   // [T, V]
      return { rows: logits.shape[0], argmax: () => argmax(logits), logits: () => logits };
    },
    close() {},
  };
}

/**
 * The runner a decoder uses: `options.runner`, checked against the decoder's config, or a CPU runner.
 *
 * @param where - the decoder's name, for the error message
 * @throws ShapeError when the runner's model has another vocabulary, width, depth or context length
 * @example
 * ```ts
 * resolveRunner(config, params, {}, "jacobi").backend; // "cpu"
 * ```
 * @category Model
 */
export function resolveRunner(config: ModelConfig, params: Params, options: RunnerOption, where: string): ModelRunner {
  const runner = options.runner;
  if (runner === undefined) return cpuRunner(config, params);
  for (const field of ["vocabSize", "hiddenSize", "numLayers", "maxPositions"] as const) {
    if (runner.config[field] !== config[field]) {
      throw new ShapeError(`${where}: the runner's model has ${field} ${runner.config[field]}, the decoder's config ${config[field]}`);
    }
  }
  return runner;
}
