/**
 * The WebGPU backend as a {@link ModelRunner}: the decoders call it exactly as they call the CPU one.
 *
 * `await webgpuRunner(config, params)` starts a worker thread that opens the GPU (Dawn, from the optional
 * `webgpu` package), uploads the weights and compiles the kernels; it rejects with a
 * {@link WebGpuUnavailableError} that says why when the package or a GPU adapter is missing. After that
 * every call is synchronous: the main thread posts the request and blocks in `Atomics.wait` until the
 * worker has run it (one submit per forward) and written the token ids into shared memory. That block is
 * the price of keeping one synchronous implementation of every decoder (`docs/webgpu.md` measures what it
 * costs a forward).
 *
 * The cache: its length lives here, so `truncate` is a number changing — no GPU work, no copy; the next
 * forward overwrites the dead rows. `keepRows` is two GPU copies per layer. A cache is freed by its
 * `release()` (every decoder releases the cache it made), else when garbage-collected — which a
 * synchronous loop of decodes never lets happen — or with all the others by `close()`.
 *
 * Shape legend: T tokens in this call, P rows already in the cache, L = P + T, V vocabulary.
 *
 * Read next: `gpu-model.ts`, what the worker does with a forward.
 *
 * @module
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { headDim, type ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import type { LayerRows } from "../../model/cache.ts";
import { checkForwardInputs } from "../../model/transformer.ts";
import { checkNewCacheOptions, type ForwardResult, type ModelRunner, type RunnerForwardOptions, type SequenceCache } from "../../model/runner.ts";
import { ShapeError, Tensor } from "../../tensor/tensor.ts";
import { folderTensors, type FolderSource } from "./folder.ts";
import { RECENT_FORWARDS, weightArrays, type ForwardTiming, type GpuForwardInput, type NewGpuCache, type RandomSource, type TileChoice, type WeightSource } from "./gpu-model.ts";
import { ANSWER, answerBytes, type Reply, type Request } from "./worker.ts";

// ---------------------------------------------------------------- errors and options

/**
 * Thrown (as a rejection of {@link webgpuRunner}) when the GPU path cannot run; the message says why:
 * the `webgpu` package is not installed, Dawn found no adapter, or the model does not fit the device.
 *
 * @example
 * ```ts
 * await webgpuRunner(config, params).catch((e) => e.message);
 * // "webgpu backend unavailable because Dawn found no GPU adapter (...)" on a machine without Vulkan
 * ```
 * @category WebGPU
 */
export class WebGpuUnavailableError extends Error {
  /** @param reason - why, in words a user can act on */
  constructor(reason: string) {
    super(`webgpu backend unavailable because ${reason}`);
    this.name = "WebGpuUnavailableError";
  }
}

/**
 * Options of {@link webgpuRunner}.
 *
 * @category WebGPU
 */
export interface WebGpuRunnerOptions {
  /** The matmul tiles (default `DEFAULT_TILES`); any choice gives the same bits, only the speed differs. */
  readonly tiles?: TileChoice;
  /**
   * The context this runner allocates for (default the config's `maxPositions`, and at most it): its
   * activations (the logits are [maxPositions, V]), caches and attention's scores are sized by it, so a
   * large model whose config names a long context (a 7B's 32768) fits the GPU only with a smaller one.
   * `runner.config` carries it: decode with that config.
   */
  readonly maxPositions?: number;
  /** The most bytes of one weight buffer (default the device's limits); a larger matrix is split by rows, with the same bits. */
  readonly chunkBytes?: number;
  /**
   * Dawn toggles to enable, e.g. `["disable_robustness", "disable_workgroup_init", "skip_validation"]`
   * (bounds clamping, zeroing of workgroup memory, and API validation off: safe for these kernels, which
   * index in bounds and initialise what they read; `docs/webgpu.md` shows what they save). Default none.
   */
  readonly dawnToggles?: readonly string[];
  /**
   * How many released caches keep their GPU buffers for the next `newCache` (default `CACHE_POOL`, 2;
   * 0 frees each at once). Reuse skips allocating a cache per prompt and keeps the commands the worker
   * encoded ahead for it; the bits are the same either way.
   */
  readonly cachePool?: number;
}

/**
 * What {@link WebGpuRunner.cacheStats} counts.
 *
 * @category WebGPU
 */
export interface CacheStats {
  /** Caches made by `newCache`. */
  readonly made: number;
  /** Of those, the ones whose GPU buffers were a released cache's. */
  readonly reused: number;
}

/**
 * A {@link ModelRunner} on the GPU, which also tells how its last forward ran in the worker and how
 * often a cache reused released buffers.
 *
 * @category WebGPU
 */
export interface WebGpuRunner extends ModelRunner {
  /** The adapter Dawn chose: vendor, architecture, driver. */
  readonly adapter: string;
  /** Bytes of weights in GPU memory (16-bit matrices at 2 bytes a value). */
  readonly weightBytes: number;
  /**
   * How the last forward ran in the worker: on commands encoded ahead or on the spot, for how many rows
   * (what the specs check of the encoding ahead), and where its time went (what `npm run bench:gpu`
   * reports; it can only be taken inside the worker's forward, and comes back with its answer).
   */
  lastTiming(): ForwardTiming;
  /** Caches made so far by `newCache`, and how many of them reused a released cache's GPU buffers. */
  cacheStats(): CacheStats;
}

// ---------------------------------------------------------------- the runner

/**
 * Stands for the weights in a decoder's `(config, params, ...)` when a {@link webgpuRunner} holds them
 * (a folder streamed to the GPU, never loaded as Params): with a runner given, the decoders never read
 * `params`, and anything that does gets an error saying so.
 *
 * @category WebGPU
 */
export const WEIGHTS_ON_GPU: Params = new Proxy({} as Params, {
  get() { throw new Error("WEIGHTS_ON_GPU: the weights are on the GPU; pass their webgpuRunner as the runner option"); },
});

/**
 * Starts the WebGPU backend for a model.
 *
 * @param model - the model's config; the runner's `config` is it with the context of `options.maxPositions`
 * @param weights - the model's {@link Params}; a {@link FolderSource}, a folder whose files the GPU
 *   worker reads itself (16-bit matrices stay 16-bit, nothing is held in float64); or a
 *   {@link RandomSource}: seeded noise generated on the GPU side, for a model too large for the CPU
 * @throws WebGpuUnavailableError (as a rejection) saying why the GPU path cannot run (the model does not
 *   fit: the buffer, the limit and the numbers); CheckpointError for a folder whose files disagree with
 *   `config`; RangeError when `cachePool` is not a whole number of 0 or more or `maxPositions` not one in
 *   1 .. the config's
 * @example
 * ```ts
 * const runner = await webgpuRunner(config, params);
 * jacobi(config, params, prompt, { maxNewTokens: 64, runner }).tokens; // equal to arGreedy(..., { runner })
 * runner.close();
 * const big = await webgpuRunner(folderConfig(dir), { kind: "folder", dir }, { maxPositions: 1024 });
 * jacobi(big.config, WEIGHTS_ON_GPU, prompt, { maxNewTokens: 64, runner: big });
 * ```
 * @category WebGPU
 */
export async function webgpuRunner(model: ModelConfig, weights: Params | FolderSource | RandomSource, options: WebGpuRunnerOptions = {}): Promise<WebGpuRunner> {
  const { cachePool: pool, maxPositions = model.maxPositions } = options;
  if (pool !== undefined && !(Number.isInteger(pool) && pool >= 0)) throw new RangeError(`webgpuRunner: cachePool must be a whole number of caches (0 or more), got ${pool}`);
  if (!(Number.isInteger(maxPositions) && maxPositions >= 1 && maxPositions <= model.maxPositions)) {
    throw new RangeError(`webgpuRunner: maxPositions must be a whole number in 1..${model.maxPositions} (the config's context), got ${maxPositions}`);
  }
  const config = { ...model, maxPositions };
  const source: WeightSource = !("kind" in weights) ? { kind: "arrays", arrays: weightArrays(weights) } : weights.kind === "folder" ? folderTensors(weights.dir, config) : weights;
  const bridge = new Bridge(config.maxPositions, await workerFile());
  let adapter: string, weightBytes: number;
  try {
    ({ adapter, weightBytes } = await bridge.start({ op: "init", config, weights: source, options, answer: bridge.answer }) as { adapter: string; weightBytes: number });
  } catch (error) {
    await bridge.close();
    throw new WebGpuUnavailableError((error as Error).message);
  }
  let forwards = 0;
  let timing: ForwardTiming = { prepared: false, rows: 0, encodeMs: 0, submitMs: 0, aheadMs: 0, waitMs: 0, queueMs: 0 };
  const width = config.numKeyValueHeads * headDim(config);
  const stats = { made: 0, reused: 0 };

  return {
    backend: "webgpu",
    settleForwards: RECENT_FORWARDS,
    config,
    adapter,
    weightBytes,
    newCache(cacheOptions = {}) {
      checkNewCacheOptions(cacheOptions, "webgpu runner newCache");
      const { id, reused } = bridge.call({ op: "newCache", firstStep: cacheOptions.firstStep }).json as NewGpuCache;
      stats.made++;
      if (reused) stats.reused++;
      return new GpuSequenceCache(bridge, id, width);
    },
    forward(tokens, forwardOptions = {}) {
      const cache = forwardOptions.cache;
      if (cache !== undefined && !(cache instanceof GpuSequenceCache && cache.bridge === bridge)) {
        throw new ShapeError("webgpuRunner.forward: the cache was made by another runner");
      }
      cache?.checkLive("webgpuRunner.forward");
      const T = tokens.length;
      const P = cache?.length ?? 0;
      const input = checkedInput(config, tokens, forwardOptions, P);   // L = P + T fits the cache's maxPositions rows
      const { json, ids } = bridge.call({ op: "forward", input: { cache: cache?.id ?? null, P, ...input } });
      timing = json as ForwardTiming;
      if (cache !== undefined) cache.length += T;                         // the forward wrote rows P..L-1
      const forward = ++forwards;
      let logits: Tensor | null = null;
      return {
        rows: T,
        argmax: () => ids!.slice(),
        logits() {
          if (logits === null) {
            if (forward !== forwards) throw new ShapeError("webgpuRunner: the logits of an earlier forward are gone (read them before the next forward)");
            const out = new SharedArrayBuffer(4 * T * config.vocabSize);
            bridge.call({ op: "logits", rows: T, out });
            logits = new Tensor(Float64Array.from(new Float32Array(out)), [T, config.vocabSize]);   // [T, V]
          }
          return logits;
        },
      } satisfies ForwardResult;
    },
    lastTiming: () => timing,
    cacheStats: () => ({ ...stats }),
    close() {
      try {
        bridge.call({ op: "close" });
      } finally {
        void bridge.close();
      }
    },
  };
}

// ---------------------------------------------------------------- the cache

/** A KV cache whose rows live in GPU buffers; only its length lives here. */
class GpuSequenceCache implements SequenceCache {
  /** P, the valid rows: a forward adds its T, `truncate` and `keepRows` set it. */
  length = 0;

  private released = false;

  constructor(readonly bridge: Bridge, readonly id: number, private readonly width: number) {
    bridge.caches.register(this, id, this);
  }

  /** Releases the cache's GPU buffers now, to the worker's pool of idle caches or freed (see {@link SequenceCache.release}); a second call does nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.bridge.caches.unregister(this);
    this.bridge.post({ op: "free", cache: this.id });
  }

  /** @throws ShapeError once the cache has been released */
  checkLive(where: string): void {
    if (this.released) throw new ShapeError(`${where}: the cache was released`);
  }

  truncate(length: number): void {
    this.checkLive("GpuSequenceCache.truncate");
    if (!Number.isInteger(length) || length < 0 || length > this.length) {
      throw new ShapeError(`GpuSequenceCache.truncate: length must be an integer in 0..${this.length}, got ${length}`);
    }
    this.length = length;                                    // a length change: the dead rows are overwritten later
  }

  keepRows(length: number, from: number, count: number): void {
    this.checkLive("GpuSequenceCache.keepRows");
    if (![length, from, count].every(Number.isInteger) || length < 0 || count < 0 || from < length || from + count > this.length) {
      throw new ShapeError(`GpuSequenceCache.keepRows: expected 0 <= length <= from and from + count <= ${this.length}, got length ${length}, from ${from}, count ${count}`);
    }
    if (from !== length) this.bridge.post({ op: "keepRows", cache: this.id, length, from, count });   // the next forward runs after it
    this.length = length + count;
  }

  read(layer: number): LayerRows {
    this.checkLive("GpuSequenceCache.read");
    const size = this.length * this.width;
    const out = new SharedArrayBuffer(8 * Math.max(size, 1));
    this.bridge.call({ op: "readCache", cache: this.id, layer, rows: this.length, out });
    const both = new Float32Array(out, 0, 2 * size);
    return { keys: Float64Array.from(both.subarray(0, size)), values: Float64Array.from(both.subarray(size)) };
  }
}

// ---------------------------------------------------------------- the bridge to the worker

/** Longest wait for one answer of the GPU worker, in ms (SwiftShader is slow). */
const TIMEOUT_MS = 600_000;

/** The worker thread, the shared memory its answers arrive in, and the caches it holds for this thread. */
class Bridge {
  readonly answer: SharedArrayBuffer;
  /** Frees a cache the garbage collector found unreleased. */
  readonly caches = new FinalizationRegistry<number>((id) => this.post({ op: "free", cache: id }));
  private readonly header: Int32Array;
  private readonly worker: Worker;
  private failure: string | null = null;

  constructor(rows: number, file: URL) {
    this.answer = new SharedArrayBuffer(answerBytes(rows));
    this.header = new Int32Array(this.answer, 0, 4);
    this.worker = new Worker(file);
    this.worker.on("error", (error) => { this.failure = error.message; });
    this.worker.unref();
  }

  /** The first request, awaited (not blocked on): the worker may fail to start at all, and says so by an event; it answers by a message. */
  async start(request: Request): Promise<unknown> {
    this.worker.postMessage(request);
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", reject);
      this.worker.once("exit", (code) => reject(new Error(`the GPU worker exited (code ${code}) before it answered`)));
    });
    if (reply.status !== 0) throw new Error(String(reply.json));
    return reply.json;
  }

  /** A request answered synchronously: blocks this thread until the worker has run it and written its answer. */
  call(request: Request): Omit<Reply, "status"> {
    if (this.failure !== null) throw new Error(`webgpuRunner: the GPU worker failed: ${this.failure}`);
    Atomics.store(this.header, ANSWER.flag, 0);
    this.worker.postMessage(request);
    if (Atomics.wait(this.header, ANSWER.flag, 0, TIMEOUT_MS) === "timed-out") {
      throw new Error(`webgpuRunner: the GPU worker did not answer "${request.op}" within ${TIMEOUT_MS} ms`);
    }
    const text = new TextDecoder().decode(new Uint8Array(this.answer, ANSWER.textOffset, this.header[ANSWER.textBytes]).slice());
    const json: unknown = JSON.parse(text);
    if (this.header[ANSWER.status] !== 0) throw new Error(String(json));
    const count = this.header[ANSWER.idCount];
    return { json, ids: count > 0 ? new Int32Array(this.answer, ANSWER.idsOffset, count).slice() : null };
  }

  /** A request nobody waits for (freeing a cache, moving rows: `POSTED_OPS`); the worker runs it in order with the rest. */
  post(request: Request): void {
    this.worker.postMessage(request);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * The worker's code as one JavaScript file. From the built package (`npm run build`: `dist/`, `.js`)
 * or a bundle (`npm run build:gpu`, `.mjs`) it is `webgpu-worker` built beside this file, with its
 * extension. From the TypeScript sources (tsx, vitest) it is built here, once
 * per process, with esbuild (which tsx brings) into node_modules/.cache: a worker does not inherit the
 * main thread's TypeScript loader, and registering tsx inside a worker whose main thread then blocks in
 * `Atomics.wait` crashes Node 20 (seen with SwiftShader).
 */
async function workerFile(): Promise<URL> {
  if (!import.meta.url.endsWith(".ts")) return new URL(`./webgpu-worker${extname(import.meta.url)}`, import.meta.url);
  const out = fileURLToPath(new URL(`../../../node_modules/.cache/jacobi-forcing/webgpu-worker-${process.pid}.mjs`, import.meta.url));
  if (!existsSync(out)) {
    const { buildSync } = await import("esbuild");                         // a development dependency of this path only
    mkdirSync(dirname(out), { recursive: true });
    buildSync({
      entryPoints: [fileURLToPath(new URL("./webgpu-worker.ts", import.meta.url))],
      bundle: true, platform: "node", format: "esm", external: ["webgpu"], outfile: out, logLevel: "error",
    });
    process.once("exit", () => rmSync(out, { force: true }));
  }
  return pathToFileURL(out);
}

// ---------------------------------------------------------------- input checks

/** Checks a forward's inputs as `transformer.forward` does ({@link checkForwardInputs}) and packs them for the worker. */
function checkedInput(config: ModelConfig, tokens: ArrayLike<number>, options: RunnerForwardOptions, P: number): Omit<GpuForwardInput, "cache" | "P"> {
  const T = tokens.length;
  const L = P + T;
  const positions = options.positions ?? Array.from({ length: T }, (_, i) => P + i);
  checkForwardInputs("webgpuRunner.forward", config, tokens, positions, L, options.mask, true);
  const input = { tokens: Uint32Array.from(tokens), positions: Uint32Array.from(positions) };
  if (options.mask === undefined) return { ...input, mask: null };
  const bits = new Uint32Array(Math.ceil((T * L) / 32));                  // bit i L + j: query i sees key j
  for (let i = 0; i < T; i++) {
    let sees = false;
    for (let b = i * L; b < (i + 1) * L; b++) {
      if (options.mask[b] !== 0) { bits[b >>> 5] |= 1 << (b & 31); sees = true; }
    }
    if (!sees) throw new ShapeError(`webgpuRunner.forward: query row ${i} may attend to no key`);
  }
  return { ...input, mask: bits };
}
