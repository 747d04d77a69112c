/**
 * Kernel threads: the matrix product of `linear` split by output columns over worker threads, and
 * attention split by (query row, head) pairs, and SiLU split by elements.
 *
 * JavaScript runs one thread per realm, so a second core needs a second realm (`worker_threads`) and
 * memory both can see (`SharedArrayBuffer`). {@link KernelThreads.start} copies the weights into one
 * shared arena and returns tensors that view it. The pool is passed explicitly, like the cache:
 * `forward(config, params, tokens, { threads })` with the returned tensors as params, or a CPU runner
 * made with the pool. A `linear` given the pool and a weight in its arena is then computed by the
 * calling thread and the pool's workers together, each taking a range of output columns. A pool started
 * with an attention capacity also runs the forward's attention: q, the keys and the values are copied
 * into shared scratch, and each thread takes a range of (query row, head) pairs. Every other tensor
 * stays where it was.
 *
 * **Exact whatever the split.** A thread computes its columns with `matmulTransposedKernel`, the very
 * loop the single-threaded product runs, and its attention pairs with `attentionKernel` over a range of
 * pairs; an output element does not depend on which thread or which range computed it.
 * So the logits with 2 threads are bit-identical to those with one (spec/threads.spec.ts), and every
 * decoder stays exactly equal to AR greedy.
 *
 * **Handoff protocol** (one Int32Array of control words in shared memory):
 * 1. The caller writes x into the shared scratch, the job's sizes and each worker's column range, then
 *    increments the job counter `SEQ` (an atomic store publishes the plain writes before it) and
 *    notifies.
 * 2. A worker spins on `SEQ` for a while (during a forward the next job usually follows at once),
 *    then sleeps in `Atomics.wait`. It RE-CHECKS in a loop: `Atomics.wait` may return "ok" for a
 *    notify that was meant for an earlier value, with the counter unchanged — acting on that runs a job
 *    twice and then hangs. Plain `Atomics.wait`/`notify` without the spin is slower than one thread.
 * 3. The worker computes its columns, stores the job number in its own `DONE` word and notifies; the
 *    caller computes its own range meanwhile, then waits for every `DONE` the same way (spin, then
 *    wait, re-checking), and copies the result out of the scratch.
 *
 * What this is not: a general thread pool, or safe for weights that change. The arena is a copy made
 * at start: use the returned tensors for inference; training updates its own weights in place and does
 * not use kernel threads (it has data-parallel workers, `src/training/parallel.ts`).
 *
 * Who starts the workers is passed in ({@link StartKernelWorker}): this file only shares memory and
 * hands out jobs, so it runs wherever `SharedArrayBuffer` and `Atomics` do. Node's worker threads are
 * `src/node/kernel-threads.ts`.
 *
 * Read next: `src/node/kernel-worker.ts` (the worker's loop), `kernels.ts` (`matmulTransposedKernel`).
 *
 * @module
 */
import {
  attentionKernel, matmulTransposedKernel, type AttentionShape, type Visibility,
} from "./kernels.ts";
import { Tensor } from "./tensor.ts";

// ---------------------------------------------------------------- the control block

/**
 * Indices into the shared Int32Array of control words (see the protocol in the module header).
 *
 * @category Threads
 */
export const CONTROL = {
  /** Job counter: incremented once per job. */
  SEQ: 0,
  /** Job kind: {@link JOB_MATMUL}, {@link JOB_ATTENTION}, {@link JOB_SILU} or {@link JOB_EXIT}. */
  KIND: 1,
  /** Rows M of this chunk. */
  M: 2,
  /** Reduction width K. */
  K: 3,
  /** Output width N. */
  N: 4,
  /** Offset of the weight [N, K] in the arena, in float64s. */
  WEIGHT: 5,
  /** Set to 1 by a worker that failed (the caller stops waiting and throws). */
  ERROR: 6,
  /** Attention: the causal offset of this chunk's first query row, or -1 for the explicit mask in shared scratch. */
  OFFSET: 7,
  /** Worker j's range (of columns, or of attention pairs) is [RANGES + 2j, RANGES + 2j + 1]. */
  RANGES: 8,
  /** Worker j stores the number of the last job it finished at DONE + j. */
  DONE: 40,
  /** Attention: keys L. */
  KEYS: 56,
  /** Words in the control block (room for 16 workers). */
  SIZE: 64,
} as const;

/**
 * Job kind: one matrix product.
 *
 * @category Threads
 */
export const JOB_MATMUL = 1;
/**
 * Job kind: leave the loop and end the worker.
 *
 * @category Threads
 */
export const JOB_EXIT = 2;
/**
 * Job kind: attention over a range of (query row, head) pairs.
 *
 * @category Threads
 */
export const JOB_ATTENTION = 3;
/**
 * Job kind: SiLU, `x / (1 + e^-x)`, over a range of elements of the shared input.
 *
 * @category Threads
 */
export const JOB_SILU = 4;

/**
 * SiLU of `x[e0..e1-1]` into `out`, the expression `ops.silu` computes: the same bits on any thread.
 *
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * siluRange(out, Float64Array.of(0, 1), 0, 2); // out = [0, 0.7310585786300049], as silu(Tensor.from([0, 1], [2]))
 * ```
 * @category Threads
 */
export function siluRange(out: Float64Array, x: Float64Array, e0: number, e1: number): void {
  for (let e = e0; e < e1; e++) out[e] = x[e] / (1 + Math.exp(-x[e]));
}

/** Elements below which SiLU stays on the calling thread (the handoff costs more than half of it). */
const MIN_PARALLEL_SILU = 2048;

/**
 * How long a waiting thread keeps re-reading a word before it sleeps in `Atomics.wait`, ms. Waking a
 * sleeping thread costs more than a whole product at these sizes, and more on a busy machine, while the
 * products of one forward follow each other at once.
 *
 * @category Threads
 */
export const SPIN_MS = 2;

/** Rows per job: longer inputs are processed in chunks of this many rows (any chunking gives the same bits). */
const ROWS_PER_JOB = 128;

/**
 * Products smaller than this many multiply-adds stay on the calling thread: below it the handoff costs
 * more than half the work saves. The math teacher's lm_head for one token (1 × 64 × 20 multiply-adds)
 * stays; a 16-token block through its MLP (16 × 64 × 192) is split.
 *
 * @category Threads
 */
export const MIN_PARALLEL_WORK = 12_000;

/**
 * The attention a pool can run: the model's head layout, and the most keys a forward sees.
 *
 * @category Threads
 */
export interface AttentionCapacity extends AttentionShape {
  /** Keys L a forward may attend over (the model's maxPositions). */
  readonly maxKeys: number;
}

/**
 * Shared scratch of attention jobs: one chunk of query rows, all keys and values. Every array views a
 * SharedArrayBuffer, so the caller and the workers (which receive it in their {@link KernelWorkerInit})
 * see the same memory.
 *
 * @category Threads
 */
export interface AttentionScratch {
  /** The shapes it was sized for. */
  readonly capacity: AttentionCapacity;
  /** [ROWS_PER_JOB, H*D] */
  readonly q: Float64Array;
  /** [maxKeys, Hkv*D] */
  readonly k: Float64Array;
  /** [maxKeys, Hkv*D] */
  readonly v: Float64Array;
  /** [ROWS_PER_JOB, H*D] */
  readonly out: Float64Array;
  /** [ROWS_PER_JOB, H, maxKeys] */
  readonly probs: Float64Array;
  /** [ROWS_PER_JOB, maxKeys] */
  readonly mask: Uint8Array;
}

/** A Float64Array of `n` elements (at least one) in shared memory. */
function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}

/** Allocates the shared attention scratch of `capacity`. */
function attentionScratch(capacity: AttentionCapacity): AttentionScratch {
  const { numHeads: H, numKeyValueHeads: Hkv, headDim: D, maxKeys } = capacity;
  return {
    capacity,
    q: sharedF64(ROWS_PER_JOB * H * D), k: sharedF64(maxKeys * Hkv * D), v: sharedF64(maxKeys * Hkv * D),
    out: sharedF64(ROWS_PER_JOB * H * D), probs: sharedF64(ROWS_PER_JOB * H * maxKeys),
    mask: new Uint8Array(new SharedArrayBuffer(Math.max(1, ROWS_PER_JOB * maxKeys))),
  };
}

/**
 * The shared memory of a pool, seen by the calling thread and every worker. A typed array over a
 * SharedArrayBuffer crosses to a worker as a view of the same memory, not a copy.
 *
 * @category Threads
 */
export interface KernelMemory {
  /** The control words (see {@link CONTROL}). */
  readonly control: Int32Array;
  /** The weights. */
  readonly arena: Float64Array;
  /** x of the current job, [ROWS_PER_JOB, largest K]. */
  readonly input: Float64Array;
  /** out of the current job, [ROWS_PER_JOB, largest N]. */
  readonly output: Float64Array;
  /** The attention scratch, when the pool runs attention. */
  readonly attention: AttentionScratch | null;
}

/**
 * What a kernel worker receives at start: the pool's shared memory and its own index.
 *
 * @category Threads
 */
export interface KernelWorkerInit extends KernelMemory {
  /** This worker's index j (0-based among the workers; the caller is not counted). */
  readonly index: number;
}

/**
 * Computes items `i0 .. i1-1` of the job published in the control words (output columns of a product,
 * attention pairs, or SiLU elements) on the shared memory, with the kernel the single-threaded path
 * runs: what the calling thread and every worker do with their share.
 *
 * @example
 * ```ts
 * runShare(memory, 0, 8); // of an attention job: pairs 0..7, query rows 0 and 1 when H = 4
 * ```
 * @category Threads
 */
export function runShare(memory: KernelMemory, i0: number, i1: number): void {
  const { control: c, arena, input, output } = memory;
  const kind = c[CONTROL.KIND], M = c[CONTROL.M];
  if (kind === JOB_SILU) {
    siluRange(output, input, i0, i1);
  } else if (kind === JOB_ATTENTION) {
    const a = memory.attention!, L = c[CONTROL.KEYS], offset = c[CONTROL.OFFSET];
    const visibility: Visibility = offset >= 0 ? { kind: "causal", offset } : { kind: "explicit", visible: a.mask.subarray(0, M * L) };
    attentionKernel(a.out, a.probs, a.q, a.k, a.v, M, L, a.capacity, visibility, i0, i1);
  } else {
    const K = c[CONTROL.K], N = c[CONTROL.N], weight = c[CONTROL.WEIGHT];
    matmulTransposedKernel(output, input, arena.subarray(weight, weight + N * K), M, K, N, i0, i1);
  }
}

/**
 * Waits until `words[index]` differs from `seen`: spins for {@link SPIN_MS}, then sleeps, re-checking
 * after every wake-up (a wake-up alone proves nothing). Returns the new value.
 *
 * @example
 * ```ts
 * const words = Int32Array.of(5);
 * waitForChange(words, 0, 4); // 5, at once: the word already differs from 4
 * waitForChange(words, 0, 5); // spins, then sleeps, until another thread stores something other than 5
 * ```
 * @category Threads
 */
export function waitForChange(words: Int32Array, index: number, seen: number, failed?: () => boolean): number {
  let value = Atomics.load(words, index);
  if (value !== seen) return value;
  const until = performance.now() + SPIN_MS;
  for (let spin = 1; value === seen; spin++) {
    value = Atomics.load(words, index);
    if ((spin & 1023) === 0 && performance.now() > until) break;
  }
  while (value === seen) {
    Atomics.wait(words, index, seen, 200);
    value = Atomics.load(words, index);
    if (value === seen && failed?.() === true) throw new Error("KernelThreads: a worker thread failed");
  }
  return value;
}

// ---------------------------------------------------------------- the pool

/**
 * Starts the worker of `init.index` on the pool's shared memory (it runs {@link runShare} on each job
 * until {@link JOB_EXIT}). Resolves, once the worker is about to serve jobs, to a function that waits
 * until the worker has ended (the pool calls it just before it posts the exit job); rejects if the
 * worker failed to start.
 *
 * @category Threads
 */
export type StartKernelWorker = (init: KernelWorkerInit) => Promise<() => Promise<void>>;

/**
 * Worker threads that share `linear`'s matrix products, attention and SiLU with the calling thread.
 *
 * @example
 * ```ts
 * const threads = await KernelThreads.start(2, [weight], startKernelWorker);  // one worker + the calling thread
 * const shared = threads.tensors[0];                        // same values, in shared memory
 * linear(x, shared, undefined, threads);                    // split over both threads, same bits as linear(x, weight)
 * await threads.close();
 * ```
 * @category Threads
 */
export class KernelThreads {
  private seq = 0;

  private constructor(
    /** The weights given to {@link KernelThreads.start}, copied into the shared arena, in the same order. */
    readonly tensors: readonly Tensor[],
    /** Per worker: wait until it has ended. */
    private readonly workers: readonly (() => Promise<void>)[],
    private readonly memory: KernelMemory,
  ) {}

  /** Threads that compute a product: the workers plus the calling thread. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Starts `threads - 1` workers and copies `weights` (each [N, K]) into shared memory.
   *
   * @param threads - threads that compute a product, the calling thread included (1..17)
   * @param weights - the Linear weights to share, [N, K] each
   * @param startWorker - starts one worker (Node's worker threads: `startKernelWorker`)
   * @param options - `attention`: also run attention of this shape (see {@link AttentionCapacity})
   */
  static async start(
    threads: number, weights: readonly Tensor[], startWorker: StartKernelWorker, options: { readonly attention?: AttentionCapacity } = {},
  ): Promise<KernelThreads> {
    if (!Number.isInteger(threads) || threads < 1 || threads > 17) {
      throw new RangeError(`KernelThreads.start: threads must be an integer in 1..17, got ${threads}`);
    }
    const arena = sharedF64(weights.reduce((s, t) => s + t.size, 0));
    let at = 0;
    const tensors = weights.map((t) => {
      const view = arena.subarray(at, at + t.size);
      at += t.size;
      view.set(t.data);
      return new Tensor(view, t.shape);
    });
    const matrices = weights.filter((t) => t.rank === 2);
    const tallest = Math.max(1, ...matrices.map((t) => t.shape[0]));
    const widest = Math.max(1, ...matrices.map((t) => t.shape[1]));
    const memory: KernelMemory = {
      control: new Int32Array(new SharedArrayBuffer(CONTROL.SIZE * 4)), arena,
      input: sharedF64(ROWS_PER_JOB * widest), output: sharedF64(ROWS_PER_JOB * tallest),
      attention: options.attention === undefined ? null : attentionScratch(options.attention),
    };
    // Waiting until each worker is about to serve jobs keeps start-up errors here rather than in a forward
    const workers = await Promise.all(Array.from({ length: threads - 1 }, (_, index) => startWorker({ ...memory, index })));
    return new KernelThreads(tensors, workers, memory);
  }

  /** True when `w` lies in this pool's shared arena (is, or is part of, one of {@link KernelThreads.tensors}' data). */
  holds(w: Float64Array): boolean {
    return w.buffer === this.memory.arena.buffer;
  }

  /**
   * `out = x w^T` with the columns split over the pool; `w` must be one of {@link KernelThreads.tensors}' data.
   * Bit-identical to `matmulTransposedKernel`.
   */
  matmulTransposed(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
    const { control: c, input, output } = this.memory;
    for (let r0 = 0; r0 < M; r0 += ROWS_PER_JOB) {
      const rows = Math.min(ROWS_PER_JOB, M - r0);
      input.set(x.subarray(r0 * K, (r0 + rows) * K));
      c[CONTROL.M] = rows;
      c[CONTROL.K] = K;
      c[CONTROL.N] = N;
      c[CONTROL.WEIGHT] = w.byteOffset / 8;
      this.runJob(JOB_MATMUL, N, 4);
      out.set(output.subarray(0, rows * N), r0 * N);
    }
  }

  /** `out = silu(x)` over `size` elements, split over the pool in chunks; bit-identical to one thread. */
  silu(out: Float64Array, x: Float64Array, size: number): void {
    const { input, output } = this.memory;
    const chunk = Math.min(input.length, output.length);
    for (let e0 = 0; e0 < size; e0 += chunk) {
      const count = Math.min(chunk, size - e0);
      input.set(x.subarray(e0, e0 + count));
      this.runJob(JOB_SILU, count, 1);
      out.set(output.subarray(0, count), e0);
    }
  }

  /** True when this pool's scratch holds a product with reduction width `K` and `N` outputs per row. */
  fitsProduct(K: number, N: number): boolean {
    return K * ROWS_PER_JOB <= this.memory.input.length && N * ROWS_PER_JOB <= this.memory.output.length;
  }

  /** True when this pool can run attention of this head layout over `L` keys. */
  runsAttention(shape: AttentionShape, L: number): boolean {
    const c = this.memory.attention?.capacity;
    return c !== undefined && c.numHeads === shape.numHeads && c.numKeyValueHeads === shape.numKeyValueHeads
      && c.headDim === shape.headDim && L <= c.maxKeys;
  }

  /**
   * {@link attentionKernel} with the (query row, head) pairs split over the pool, in chunks of query
   * rows; bit-identical to it. Requires {@link KernelThreads.runsAttention}.
   */
  attention(out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array, M: number, L: number, visibility: Visibility): void {
    const c = this.memory.control, a = this.memory.attention!;
    const { numHeads: H, numKeyValueHeads: Hkv, headDim: D } = a.capacity;
    a.k.set(k.subarray(0, L * Hkv * D));
    a.v.set(v.subarray(0, L * Hkv * D));
    for (let r0 = 0; r0 < M; r0 += ROWS_PER_JOB) {
      const rows = Math.min(ROWS_PER_JOB, M - r0);
      a.q.set(q.subarray(r0 * H * D, (r0 + rows) * H * D));
      if (visibility.kind === "explicit") a.mask.set(visibility.visible.subarray(r0 * L, (r0 + rows) * L));
      c[CONTROL.M] = rows;
      c[CONTROL.KEYS] = L;
      c[CONTROL.OFFSET] = visibility.kind === "causal" ? visibility.offset + r0 : -1;
      this.runJob(JOB_ATTENTION, rows * H, 1);
      out.set(a.out.subarray(0, rows * H * D), r0 * H * D);
      probs.set(a.probs.subarray(0, rows * H * L), r0 * H * L);
    }
  }

  /**
   * Runs a job of `kind`, its sizes already in the control words, over items `0 .. total-1` in shares
   * of whole multiples of `align` items: the calling thread takes the first share, worker j the
   * (j+1)-th. Publishes the ranges, computes its own share, and waits until every worker has finished.
   */
  private runJob(kind: number, total: number, align: number): void {
    const c = this.memory.control;
    const share = Math.ceil(total / this.threads / align) * align;
    c[CONTROL.KIND] = kind;
    for (let j = 0; j < this.workers.length; j++) {
      c[CONTROL.RANGES + 2 * j] = Math.min(total, (j + 1) * share);
      c[CONTROL.RANGES + 2 * j + 1] = Math.min(total, (j + 2) * share);
    }
    const seq = ++this.seq;
    Atomics.store(c, CONTROL.SEQ, seq);
    Atomics.notify(c, CONTROL.SEQ);
    runShare(this.memory, 0, Math.min(total, share));
    for (let j = 0; j < this.workers.length; j++) {                      // wait for every worker (spin, then sleep, re-checking)
      let done = Atomics.load(c, CONTROL.DONE + j);
      while (done !== seq) done = waitForChange(c, CONTROL.DONE + j, done, () => Atomics.load(c, CONTROL.ERROR) !== 0);
    }
  }

  /** Ends the workers. The pool's tensors stay valid (single-threaded from then on). */
  async close(): Promise<void> {
    const exited = this.workers.map((untilEnded) => untilEnded());
    this.memory.control[CONTROL.KIND] = JOB_EXIT;
    Atomics.store(this.memory.control, CONTROL.SEQ, ++this.seq);
    Atomics.notify(this.memory.control, CONTROL.SEQ);
    await Promise.all(exited);
  }
}

/**
 * The product `linear` runs: `out = x w^T`, on the threads of `threads` when given and the product is
 * large enough to gain, else on this thread. Same bits either way. `w` must lie in the pool's arena
 * (see {@link KernelThreads.holds}).
 *
 * @param out - [M, N], overwritten
 * @param x - [M, K]
 * @param w - [N, K]
 * @example
 * ```ts
 * matmulTransposedShared(out, x, threads.tensors[0].data, 16, 128, 384, threads); // 2 threads
 * matmulTransposedShared(out, x, weight, 16, 128, 384);                            // 1 thread, same bits
 * ```
 * @category Threads
 */
export function matmulTransposedShared(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number, threads?: KernelThreads): void {
  if (threads === undefined || M * K * N < MIN_PARALLEL_WORK || N < 8 || !threads.fitsProduct(K, N)) matmulTransposedKernel(out, x, w, M, K, N);
  else threads.matmulTransposed(out, x, w, M, K, N);
}

/**
 * The attention `forward` runs: on `threads` when given, the pool runs attention of this shape and the
 * work is large enough to gain, else {@link attentionKernel} on this thread. Same bits either way.
 *
 * @param out - [M, H * D], overwritten
 * @param probs - [M, H, L], overwritten with the attention weights
 * @param M - query rows
 * @param L - keys
 * @example
 * ```ts
 * const shape = { numHeads: 4, numKeyValueHeads: 2, headDim: 32 };
 * attentionShared(out, probs, q, k, v, 16, 80, shape, { kind: "causal", offset: 64 }, threads); // 2 threads
 * attentionShared(out, probs, q, k, v, 16, 80, shape, { kind: "causal", offset: 64 });          // 1 thread, same bits
 * ```
 * @category Threads
 */
export function attentionShared(
  out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
  M: number, L: number, shape: AttentionShape, visibility: Visibility, threads?: KernelThreads,
): void {
  if (threads === undefined || M * shape.numHeads * L * shape.headDim < MIN_PARALLEL_WORK || !threads.runsAttention(shape, L)) {
    attentionKernel(out, probs, q, k, v, M, L, shape, visibility);
  } else {
    threads.attention(out, probs, q, k, v, M, L, visibility);
  }
}

/**
 * The SiLU `forward` runs: on `threads` when given and the tensor is large enough to gain, else on
 * this thread. Same bits either way.
 *
 * @example
 * ```ts
 * siluShared(out, x, 16 * 384, threads); // 2 threads
 * siluShared(out, x, 16 * 384);          // 1 thread, same bits
 * ```
 * @category Threads
 */
export function siluShared(out: Float64Array, x: Float64Array, size: number, threads?: KernelThreads): void {
  if (threads === undefined || size < MIN_PARALLEL_SILU) siluRange(out, x, 0, size);
  else threads.silu(out, x, size);
}
