/**
 * The transformer forward on a WebGPU device: weights uploaded once, activations and KV caches in GPU
 * buffers, and one forward = one command buffer = one submit, after which only T token ids (the argmax
 * of each row) are read back. The same data flow as `src/model/transformer.ts`, kernel by kernel.
 *
 * This runs inside the GPU worker thread (`worker.ts`): WebGPU is asynchronous (a read-back is a
 * promise), the decoders are not, so the main thread blocks on the worker (see `runner.ts`).
 *
 * Memory layout: every activation buffer holds `maxPositions` rows, so a forward of any T fits without
 * allocating. A cache is two buffers per layer, [maxPositions, Hkv*D] each; its length lives on the main
 * thread, so truncating it is a number changing, and the next forward overwrites the dead rows.
 * The fused weights: `wqkv` [Q, C] is wq, wk, wv stacked (one matmul gives q, k and v), `wgu` [2I, C] is
 * wGate over wUp, and Qwen3's `qkNorm` [2, D] is qNorm over kNorm (every q head's gain, then every k head's).
 * RoPE's cos/sin table is computed on the host from `ropeFrequencies`, so every RoPE scaling the CPU
 * implements runs here too.
 *
 * What it is not: a general tensor runtime (no autograd, no training), nor float64: GPUs compute in
 * float32, so GPU logits match the CPU reference to about 1e-6 relative, and the GPU's decoders are
 * exact against the GPU's own AR greedy (batch-invariant kernels, `wgsl.ts`).
 *
 * Shape legend: T tokens in this forward, P cached rows, L = P + T, C width, I MLP width, H query heads,
 * Hkv key/value heads, D head size (the config's, or C / H), V vocabulary, Q = (H + 2 Hkv) D.
 *
 * Read next: `wgsl.ts` (the kernels), `runner.ts` (the main-thread side).
 *
 * @module
 */
/// <reference types="@webgpu/types" />
import { headDim, type ModelConfig } from "../../model/config.ts";
import type { LayerParams, Params } from "../../model/params.ts";
import { ropeFrequencies } from "../../model/rope.ts";
import type { SafetensorsDType } from "../../model/safetensors.ts";
import {
  argmaxSource, attentionSource, attentionWorkgroupBytes, embeddingSource, matmulSource, matmulWorkgroupBytes, rmsNormSource, ropeCacheSource, swigluSource,
  type MatmulShape, type MatmulTile, type WeightDType,
} from "./wgsl.ts";

/**
 * How many recent forwards' T the commands encoded ahead must cover (a Jacobi block takes a few forwards).
 *
 * @category WebGPU
 */
export const RECENT_FORWARDS = 4;

/**
 * How many released caches a {@link GpuModel} keeps for reuse by default: two, so that a decoder that
 * holds one cache while it makes the next (or a bench alternating two) still reuses. Each costs its
 * buffers' memory while idle: 2 x layers x maxPositions x Hkv x D x 4 bytes (64 MiB on the realistic model).
 *
 * @category WebGPU
 */
export const CACHE_POOL = 2;

// WebGPU's usage flags (the numeric values of the standard; Node has no GPUBufferUsage global).
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/**
 * Where the weights come from: a model's weights by name (float64, from {@link weightArrays}; rounded
 * to float32 on upload), seeded uniform random numbers generated straight into float32 — for
 * benchmarking a model too large to hold in float64 on the CPU — or a model folder's safetensors files,
 * which the worker thread reads itself (`folder.ts`: 16-bit matrices stay 16-bit).
 *
 * @category WebGPU
 */
export type WeightSource = NamedWeights | RandomSource | TensorFiles;

/**
 * Where each weight's values lie in a folder's safetensors files, as `folderTensors` found and checked
 * them: what crosses to the worker thread, which then reads the bytes itself.
 *
 * @category WebGPU
 */
export interface TensorFiles {
  /** Discriminant. */
  readonly kind: "files";
  /** By weight name (`embed`, `layers.0.wq`, ... as {@link weightArrays}), the file, the byte offset of its first value and its dtype. */
  readonly tensors: Readonly<Record<string, { readonly file: string; readonly offset: number; readonly dtype: SafetensorsDType }>>;
}

/**
 * Weights stacked by rows into one GPU buffer (a fused matrix: wq, wk, wv; a vector: a norm gain): each
 * part is a weight by name (as {@link weightArrays} names them) and its size in values.
 *
 * @category WebGPU
 */
export type WeightPart = readonly [name: string, size: number];

/**
 * What {@link GpuModel.create} reads weights through (`weightReader` for arrays and random numbers,
 * `filesReader` for a folder's files, which needs Node).
 *
 * @category WebGPU
 */
export interface WeightReader {
  /** How a matrix stacked from `parts` is held on the GPU: their 16-bit dtype when the source holds every part in it, else F32. */
  dtype(parts: readonly WeightPart[]): WeightDType;
  /** Writes values `from .. from + count - 1` of `parts` stacked into `target`, held as `dtype` (4 or 2 bytes a value). */
  read(parts: readonly WeightPart[], from: number, count: number, target: ArrayBuffer, dtype: WeightDType): void;
}

/**
 * Weights by name, float64.
 *
 * @category WebGPU
 */
export interface NamedWeights {
  /** Discriminant. */
  readonly kind: "arrays";
  /** `embed`, `norm`, `lmHead`, `layers.0.wq`, ... (see {@link weightArrays}). */
  readonly arrays: Readonly<Record<string, Float64Array>>;
}

/**
 * Seeded uniform noise, generated on the GPU side (for a model too large to hold in float64 on the CPU);
 * norm gains are 1.
 *
 * @category WebGPU
 */
export interface RandomSource {
  /** Discriminant. */
  readonly kind: "random";
  /** Seed of the generator. */
  readonly seed: number;
  /** Standard deviation of every weight matrix's entries. */
  readonly std: number;
}

/**
 * A cache made by {@link GpuModel.newCache}.
 *
 * @category WebGPU
 */
export interface NewGpuCache {
  /** The cache's id, for forwards and for `freeCache`. */
  readonly id: number;
  /** Whether its GPU buffers are a released cache's (see {@link GpuModel.cachePool}), not new ones. */
  readonly reused: boolean;
}

/**
 * How one forward ran, seen from the GPU worker thread: which commands it ran (encoded ahead or on the
 * spot, for how many rows) and where its time went.
 *
 * @category WebGPU
 */
export interface ForwardTiming {
  /** Whether the forward's commands had been encoded ahead, while the GPU ran the previous forward. */
  readonly prepared: boolean;
  /** The rows the commands' grids covered: T when encoded on the spot, the guess when encoded ahead (at least T). */
  readonly rows: number;
  /** Milliseconds spent encoding the dispatches (JavaScript and Dawn's validation), up to `finish()`; about 0 when prepared. */
  readonly encodeMs: number;
  /** Milliseconds the `queue.submit` call itself took (Dawn records the Vulkan commands there). */
  readonly submitMs: number;
  /** Milliseconds after the submit spent encoding the next forward ahead (overlapping the GPU's work). */
  readonly aheadMs: number;
  /** Milliseconds from the end of the submit until the token ids were mapped (the GPU's work plus the read-back). */
  readonly waitMs: number;
  /** Of `waitMs`, the milliseconds until `onSubmittedWorkDone` resolved: the GPU's work, or `aheadMs` when the GPU finished first (the rest is the read-back). */
  readonly queueMs: number;
}

/**
 * The weights of `params` as plain arrays by name (`embed`, `norm`, `lmHead`, `layers.0.wq`, ...): what
 * can cross to the worker thread (a structured clone keeps typed arrays, not classes).
 *
 * @example
 * ```ts
 * Object.keys(weightArrays(initParams(PRESETS.tiny, { seed: 1 })))[0]; // "embed"
 * ```
 * @category WebGPU
 */
export function weightArrays(params: Params): Record<string, Float64Array> {
  const arrays: Record<string, Float64Array> = { embed: params.embed.data, norm: params.norm.data, lmHead: params.lmHead.data };
  params.layers.forEach((layer, l) => {
    for (const [field, tensor] of Object.entries(layer) as [keyof LayerParams, LayerParams[keyof LayerParams]][]) {
      if (tensor !== undefined) arrays[`layers.${l}.${field}`] = tensor.data;
    }
  });
  return arrays;
}

/**
 * The five matrix products of a forward: the fused q/k/v, the output projection, the fused gate/up,
 * the down projection (each per layer) and the LM head.
 *
 * @category WebGPU
 */
export type MatrixName = "qkv" | "wo" | "gu" | "down" | "lmHead";

/**
 * The matmul tiles: `small` for forwards of at most `smallRows` tokens, `large` above; `matrices`
 * overrides either for one matrix (a narrow matrix wants smaller workgroups at T = 1 than a wide one).
 *
 * @category WebGPU
 */
export interface TileChoice {
  /** Tile for T ≤ smallRows: few outputs per thread, groups along the columns (weight streaming). */
  readonly small: MatmulTile;
  /**
   * Tile for T ≤ smallRows on a matrix of at most `narrowColumns` output columns: smaller workgroups,
   * so that a narrow matrix still spreads over every multiprocessor. Absent: `small` everywhere.
   */
  readonly narrow?: MatmulTile;
  /** The widest matrix (output columns N) that uses `narrow`. */
  readonly narrowColumns?: number;
  /** Tile for larger T: a block of outputs per thread, so each loaded weight serves several tokens. */
  readonly large: MatmulTile;
  /** The largest T that uses `small`. */
  readonly smallRows: number;
  /** Per-matrix overrides of `small` (or `narrow`) and `large`. */
  readonly matrices?: Partial<Record<MatrixName, Partial<Pick<TileChoice, "small" | "large">>>>;
}

/**
 * The tile `tiles` gives matrix `name` (N output columns, weights of `dtype`) in a forward of `rows`
 * tokens, before it is fitted to the device ({@link fitTile}): the matrix's own override, else `large`
 * above `smallRows`, else `narrow` for a matrix of at most `narrowColumns` columns, else `small`. A
 * 16-bit matrix at up to `smallRows` tokens, which streams its weights, loads twice the quads a lane
 * (`U`): the float32 tile's bytes in flight, the same bits.
 *
 * @example
 * ```ts
 * tileFor(DEFAULT_TILES, "qkv", 2560, 1);             // DEFAULT_TILES.narrow
 * tileFor(DEFAULT_TILES, "qkv", 2560, 1, "BF16").U;   // 8: narrow's 4, doubled
 * tileFor(DEFAULT_TILES, "lmHead", 32000, 1);         // DEFAULT_TILES.small
 * tileFor(DEFAULT_TILES, "qkv", 2560, 64);            // DEFAULT_TILES.large
 * ```
 * @category WebGPU
 */
export function tileFor(tiles: TileChoice, name: MatrixName, N: number, rows: number, dtype: WeightDType = "F32"): MatmulTile {
  const own = tiles.matrices?.[name];
  if (rows > tiles.smallRows) return own?.large ?? tiles.large;
  const tile = own?.small ?? (tiles.narrow !== undefined && N <= (tiles.narrowColumns ?? 0) ? tiles.narrow : tiles.small);
  return dtype === "F32" ? tile : { ...tile, U: 2 * (tile.U ?? 1) };
}

/**
 * The default tiles: the fastest of each kind in the tile sweep of `npm run bench:gpu` on the realistic
 * model (docs/webgpu.md §6): at T = 1, 2 columns a thread in 256-thread workgroups on wide matrices
 * (the fused gate/up, the LM head) and one warp a workgroup, four quads in flight, on narrow ones (q/k/v,
 * output, down projections); above, 4 x 4 outputs a thread, four quads in flight. A tile that needs more
 * workgroup memory than the device has is shrunk ({@link fitTile}); every tile gives the same bits.
 *
 * @category WebGPU
 */
export const DEFAULT_TILES: TileChoice = {
  small: { TM: 1, TN: 2, GM: 1, GN: 8 },
  narrow: { TM: 1, TN: 1, GM: 1, GN: 1, U: 4 },
  narrowColumns: 4096,
  large: { TM: 4, TN: 4, GM: 2, GN: 4, U: 4 },
  smallRows: 1,
};

/**
 * `tile`, or the largest tile made from it by halving TM, then TN, then GM, then GN in turn that needs
 * at most `maxBytes` of workgroup memory: the same bits (the order of additions does not depend on the
 * tile), less reuse of each loaded weight.
 *
 * @example
 * ```ts
 * fitTile({ TM: 4, TN: 4, GM: 2, GN: 4 }, 16384); // { TM: 2, TN: 4, GM: 2, GN: 4 }: 64 outputs x 33 words x 4 bytes
 * ```
 * @category WebGPU
 */
export function fitTile(tile: MatmulTile, maxBytes: number): MatmulTile {
  let t = tile;
  const keys = ["TM", "TN", "GM", "GN"] as const;
  for (let i = 0; matmulWorkgroupBytes(t) > maxBytes; i++) {
    const key = keys[i % 4];
    if (keys.every((k) => t[k] === 1)) break;
    if (t[key] > 1) t = { ...t, [key]: Math.ceil(t[key] / 2) };
  }
  return t;
}

/**
 * The kernels of a forward besides the matmuls, in the order a layer runs them (embedding first,
 * argmax last); each is compiled when the model loads.
 *
 * @category WebGPU
 */
export const OTHER_KERNELS = ["embedding", "rmsNorm", "rope", "attention", "swiglu", "argmax"] as const;

/**
 * One of {@link OTHER_KERNELS}.
 *
 * @category WebGPU
 */
export type OtherKernel = typeof OTHER_KERNELS[number];

/**
 * A kind of dispatch in a forward: one of the {@link OTHER_KERNELS}, or `matmul` for any of the five
 * matrix products.
 *
 * @category WebGPU
 */
export type ForwardKernel = OtherKernel | "matmul";

/**
 * For benchmarks only (what `bench/gpu-probe.ts` times a model's kernels with; no decoder uses it): the
 * model's device, and its own compiled kernels bound to its own buffers, recorded into a compute pass of
 * the caller's, so that a benchmark times exactly what a forward runs, without the forward's submit
 * and read-back. Made by {@link GpuModel.forBenchmarks}.
 *
 * @category WebGPU
 */
export interface GpuModelForBenchmarks {
  /** The device the model lives on. */
  readonly device: GPUDevice;
  /** Writes the inputs of a forward of T tokens after P = 0 on the scratch cache: token ids 0, positions 0..T-1, no mask. */
  writeInputs(T: number): void;
  /**
   * Records the dispatches of that forward into `pass`, in data-flow order, only those of the kernels
   * `keep` accepts (each kept kernel alone still pays its dispatches).
   */
  encodeForward(pass: GPUComputePassEncoder, T: number, keep: (kernel: ForwardKernel) => boolean): void;
  /**
   * The product of matrix `matrix` compiled for `tile`, with its bind groups (of a matrix split over
   * several buffers, the first buffer's product).
   *
   * @throws Error when the tile needs more workgroup memory than the device has
   */
  matmul(matrix: MatrixName, tile: MatmulTile): BenchmarkMatmul;
}

/**
 * One matrix product of a model, as {@link GpuModelForBenchmarks.matmul} hands it to a benchmark.
 *
 * @category WebGPU
 */
export interface BenchmarkMatmul {
  /** K, N, and whether it adds a bias and into the residual stream. */
  readonly shape: MatmulShape;
  /** The kernel, compiled for the tile asked for. */
  readonly pipeline: GPUComputePipeline;
  /** Its bind group in every layer (each reading that layer's weights), or the LM head's one. */
  readonly groups: readonly GPUBindGroup[];
}

/** A KV cache in GPU memory: per layer, keys and values [maxPositions, Hkv*D]. */
interface GpuCache {
  readonly keys: GPUBuffer[];
  readonly values: GPUBuffer[];
  /** Per layer, the bind groups of the two kernels that touch the cache. */
  readonly rope: GPUBindGroup[];
  readonly attention: GPUBindGroup[];
}

/** A weight in GPU memory, as `dtype`, split by rows over buffers: each holds rows `first .. first + rows - 1`. */
interface GpuWeight {
  readonly dtype: WeightDType;
  readonly chunks: readonly { readonly buffer: GPUBuffer; readonly first: number; readonly rows: number }[];
}

/** The weights of one layer in GPU buffers. */
interface GpuLayer {
  readonly inputNorm: GPUBuffer;   // [C]
  readonly wqkv: GpuWeight;        // [Q, C]
  readonly bqkv: GPUBuffer | null; // [Q]
  readonly qkNorm: GPUBuffer | null; // [2, D] Qwen3's gain of the q heads, then of the k heads
  readonly wo: GpuWeight;          // [C, H*D]
  readonly postNorm: GPUBuffer;    // [C]
  readonly wgu: GpuWeight;         // [2I, C]
  readonly wDown: GpuWeight;       // [C, I]
}

/** One bound matmul: its shape, the buffers it binds (step, x, w, out, and the bias if any), and each tile's kernel. */
interface BoundMatmul {
  readonly shape: MatmulShape;
  readonly buffers: GPUBuffer[];
  readonly small: TiledPipeline;
  readonly large: TiledPipeline;
}

/** A compiled matmul, the tile it was compiled for (the tile sets the grid), and its bind group. */
interface TiledPipeline {
  readonly tile: MatmulTile;
  readonly pipeline: GPUComputePipeline;
  readonly group: GPUBindGroup;
}

/** What the forward of one layer dispatches, bound to its buffers (a matmul: one per buffer of its weight). */
interface LayerPlan {
  readonly inputNorm: GPUBindGroup;
  readonly qkv: BoundMatmul[];
  readonly wo: BoundMatmul[];
  readonly postNorm: GPUBindGroup;
  readonly gu: BoundMatmul[];
  readonly down: BoundMatmul[];
}

/** The kernels and bind groups of a whole forward. */
interface ForwardPlan {
  /** The kernels besides the matmuls and the embedding (which hold their own). */
  readonly kernels: Record<Exclude<OtherKernel, "embedding">, GPUComputePipeline>;
  /** The gather, one kernel per buffer of the embedding. */
  readonly embedding: { readonly pipeline: GPUComputePipeline; readonly group: GPUBindGroup }[];
  readonly layers: LayerPlan[];
  readonly swiglu: GPUBindGroup;
  readonly norm: GPUBindGroup;
  readonly lmHead: BoundMatmul[];
  readonly argmax: GPUBindGroup;
}

/**
 * Inputs of one forward, as the main thread sends them.
 *
 * @category WebGPU
 */
export interface GpuForwardInput {
  /** The cache to continue and append to; null forwards against an empty scratch cache. */
  readonly cache: number | null;
  /** P: rows of `cache` that are valid (its length on the main thread). */
  readonly P: number;
  /** [T] token ids. */
  readonly tokens: Uint32Array;
  /** [T] positions. */
  readonly positions: Uint32Array;
  /** [ceil(T L / 32)] visibility bits, bit `i L + j`; null for causal attention. */
  readonly mask: Uint32Array | null;
}

/**
 * Options of {@link GpuModel.create}.
 *
 * @category WebGPU
 */
export interface GpuModelOptions {
  /** The matmul tiles (default {@link DEFAULT_TILES}); any gives the same bits. */
  readonly tiles?: TileChoice;
  /** How many released caches keep their buffers (default {@link CACHE_POOL}; see {@link GpuModel.cachePool}), a whole number. */
  readonly cachePool?: number;
  /**
   * The most bytes of one weight buffer (default, and at most, the device's `maxStorageBufferBindingSize`
   * and `maxBufferSize`): a larger matrix is split by rows. Small values make a tiny model split, for a spec.
   */
  readonly chunkBytes?: number;
}

// ---------------------------------------------------------------- the model on the device

/**
 * A model resident on a WebGPU device.
 *
 * @example
 * ```ts
 * const model = await GpuModel.create(device, config, weightReader({ kind: "arrays", arrays: weightArrays(params) }));
 * const { id: cache } = model.newCache();
 * await model.forward({ cache, P: 0, tokens: Uint32Array.of(1, 40), positions: Uint32Array.of(0, 1), mask: null }); // Int32Array [2]
 * ```
 * @category WebGPU
 */
export class GpuModel {
  private readonly caches = new Map<number, GpuCache>();
  private nextCacheId = 1;
  /** Compiled matmuls by shape and tile (the layers share them). */
  private readonly matmuls = new Map<string, GPUComputePipeline>();
  /** Every dispatch's kernel and bind group, made once at load. */
  private plan: ForwardPlan | null = null;
  /** The cache of a forward without one (the oracle's full recompute). */
  private scratchCache: GpuCache | null = null;
  /** Released caches kept for the next {@link GpuModel.newCache}, at most {@link GpuModel.cachePool}. */
  private readonly idleCaches: GpuCache[] = [];
  private constructor(
    private readonly device: GPUDevice,
    private readonly config: ModelConfig,
    private readonly tiles: TileChoice,
    /**
     * How many released caches keep their GPU buffers for reuse ({@link CACHE_POOL} unless `create` was
     * given another; 0 frees every released cache at once). A decoder makes a cache per prompt: reusing
     * one skips allocating and zeroing its buffers and keeps the commands encoded ahead for it valid.
     */
    readonly cachePool: number,
    private readonly buffers: Record<string, GPUBuffer>,
    private readonly layers: GpuLayer[],
    private readonly weights: { readonly embed: GpuWeight; readonly lmHead: GpuWeight },
    /** Bytes of weights in GPU memory (the matrices as held, 16-bit or float32, the gains and biases as float32). */
    readonly weightBytes: number,
  ) {}

  /**
   * Uploads the weights, compiles the kernels and allocates the activations for `config`. A matrix is
   * held as its source holds it when that is 16-bit (`reader.dtype`), else as float32, and split by rows
   * over buffers of at most `chunkBytes` (the device's binding and buffer limits by default), each its
   * own dispatch of the same kernel: the same order of additions, so the same bits.
   *
   * @throws Error when the model does not fit the device (the message names the buffer, the limit and the numbers)
   */
  static async create(device: GPUDevice, config: ModelConfig, reader: WeightReader, options: GpuModelOptions = {}): Promise<GpuModel> {
    const { hiddenSize: C, intermediateSize: I, numHeads: H, numKeyValueHeads: Hkv, vocabSize: V, maxPositions: R } = config;
    const { maxStorageBufferBindingSize: binding, maxBufferSize, maxComputeWorkgroupStorageSize } = device.limits;
    const D = headDim(config);
    const Q = (H + 2 * Hkv) * D;
    const smaller = "; give the runner a smaller maxPositions";
    const scoresBytes = attentionWorkgroupBytes(R);
    if (scoresBytes > maxComputeWorkgroupStorageSize) {
      throw new Error(`GpuModel.create: attention keeps ${R} scores in workgroup memory (${scoresBytes} bytes), the device allows ${maxComputeWorkgroupStorageSize}${smaller}`);
    }
    const limit = Math.min(binding, maxBufferSize, options.chunkBytes ?? Infinity);
    let weightBytes = 0;
    // A buffer written through its mapping: only it is held on the host, never the model.
    const upload = async (label: string, bytes: number, write: (target: ArrayBuffer) => void): Promise<GPUBuffer> => {
      device.pushErrorScope("out-of-memory");
      const buffer = device.createBuffer({ label, size: 4 * Math.ceil(bytes / 4), usage: STORAGE | COPY_SRC | COPY_DST, mappedAtCreation: true });
      write(buffer.getMappedRange());
      buffer.unmap();
      const error = await device.popErrorScope();
      if (error !== null) throw new Error(`GpuModel.create: out of GPU memory for ${label} (${bytes} bytes, after ${weightBytes} bytes of weights): ${error.message}`);
      return buffer;
    };
    const values = (parts: WeightPart[]): number => parts.reduce((sum, [, size]) => sum + size, 0);
    // A matrix: `parts` stacked in rows of K values, split by rows into buffers of at most `limit` bytes.
    const weight = async (label: string, K: number, parts: WeightPart[]): Promise<GpuWeight> => {
      const dtype = reader.dtype(parts);
      const rowBytes = K * (dtype === "F32" ? 4 : 2);
      const rows = values(parts) / K;
      const perBuffer = Math.floor(limit / rowBytes);
      if (perBuffer < 1) throw new Error(`GpuModel.create: a row of ${label} needs ${rowBytes} bytes, more than a buffer may hold (${limit} bytes: maxStorageBufferBindingSize ${binding}, maxBufferSize ${maxBufferSize})`);
      const chunks = [];
      for (let first = 0; first < rows; first += perBuffer) {
        const n = Math.min(perBuffer, rows - first);
        chunks.push({ buffer: await upload(label, n * rowBytes, (t) => reader.read(parts, first * K, n * K, t, dtype)), first, rows: n });
        weightBytes += n * rowBytes;
      }
      return { dtype, chunks };
    };
    const vector = (label: string, parts: WeightPart[]): Promise<GPUBuffer> => {               // gains, biases: float32, whole
      weightBytes += 4 * values(parts);
      return upload(label, 4 * values(parts), (t) => reader.read(parts, 0, values(parts), t, "F32"));
    };
    const layers: GpuLayer[] = [];
    for (let l = 0; l < config.numLayers; l++) {
      // A weight of layer l: one part, or several stacked (a fused matrix).
      const of = (...parts: WeightPart[]): WeightPart[] => parts.map(([name, size]) => [`layers.${l}.${name}`, size]);
      layers.push({
        inputNorm: await vector(`layer ${l} inputNorm`, of(["inputNorm", C])),
        wqkv: await weight(`layer ${l} wqkv`, C, of(["wq", H * D * C], ["wk", Hkv * D * C], ["wv", Hkv * D * C])),
        bqkv: config.attentionBias ? await vector(`layer ${l} bqkv`, of(["bq", H * D], ["bk", Hkv * D], ["bv", Hkv * D])) : null,
        qkNorm: config.architecture === "Qwen3ForCausalLM" ? await vector(`layer ${l} qkNorm`, of(["qNorm", D], ["kNorm", D])) : null,
        wo: await weight(`layer ${l} wo`, H * D, of(["wo", C * H * D])),
        postNorm: await vector(`layer ${l} postNorm`, of(["postNorm", C])),
        wgu: await weight(`layer ${l} wgu`, C, of(["wGate", I * C], ["wUp", I * C])),
        wDown: await weight(`layer ${l} wDown`, I, of(["wDown", C * I])),
      });
    }
    const embed = await weight("embed", C, [["embed", V * C]]);
    const weights = { embed, lmHead: config.tieWordEmbeddings ? embed : await weight("lmHead", C, [["lmHead", V * C]]) };
    const activation = (name: string, size: number): GPUBuffer => {
      if (4 * size > binding) throw new Error(`GpuModel.create: the activations ${name} need ${4 * size} bytes for ${R} positions, the device's maxStorageBufferBindingSize is ${binding}${smaller}`);
      return device.createBuffer({ label: name, size: 4 * Math.max(size, 1), usage: STORAGE | COPY_SRC | COPY_DST });
    };
    device.pushErrorScope("out-of-memory");
    const buffers: Record<string, GPUBuffer> = {
      norm: await vector("norm", [["norm", C]]),
      cos: await upload("cos", 2 * R * D, (t) => ropeTable(new Float32Array(t), config, Math.cos)),
      sin: await upload("sin", 2 * R * D, (t) => ropeTable(new Float32Array(t), config, Math.sin)),
      step: device.createBuffer({ label: "step", size: 16, usage: UNIFORM | COPY_DST }),
      tokens: activation("tokens", R),
      positions: activation("positions", R),
      mask: activation("mask", Math.ceil((R * R) / 32)),
      x: activation("x", R * C),
      h: activation("h", R * C),
      qkv: activation("qkv", R * Q),
      attn: activation("attn", R * H * D),
      gu: activation("gu", R * 2 * I),
      g: activation("g", R * I),
      logits: activation("logits", R * V),
      ids: activation("ids", R),
      idsRead: device.createBuffer({ label: "idsRead", size: 4 * R, usage: MAP_READ | COPY_DST }),
      rowScratch: activation("rowScratch", R * Hkv * D),
    };
    const model = new GpuModel(device, config, options.tiles ?? DEFAULT_TILES, options.cachePool ?? CACHE_POOL, buffers, layers, weights, weightBytes);
    device.pushErrorScope("validation");
    model.plan = model.makePlan();
    model.scratchCache = model.allocateCache();
    const error = await device.popErrorScope();
    if (error !== null) throw new Error(`GpuModel.create: ${error.message}`);
    const memory = await device.popErrorScope();
    if (memory !== null) throw new Error(`GpuModel.create: out of GPU memory for the activations and a cache of ${R} positions: ${memory.message}${smaller}`);
    await device.queue.onSubmittedWorkDone();
    return model;
  }

  // ---------------------------------------------------------------- caches

  /**
   * A new empty cache: the buffers of a released one when one is kept ({@link GpuModel.cachePool}),
   * else new ones. Its rows hold whatever the last user left; no kernel reads a row before a forward
   * wrote it (no kernel uses a row at or past L = P + T: attention's value prefetch loads up to three
   * such rows and discards them).
   *
   * @param firstStep - tokens in the first forward after the prompt, if the decoder knows (the rows that
   *   forward's commands are encoded for; else the last decode's steps guess them), a positive whole number
   * @returns its id, and whether its buffers were reused
   */
  newCache(firstStep?: number): NewGpuCache {
    const id = this.nextCacheId++;
    if (firstStep !== undefined) this.firstSteps.set(id, firstStep);
    const idle = this.idleCaches.pop();
    this.caches.set(id, idle ?? this.allocateCache());
    return { id, reused: idle !== undefined };
  }

  /** Releases cache `id`: its buffers go to the pool of idle caches, or are freed when the pool is full. */
  freeCache(id: number): void {
    const cache = this.caches.get(id);
    if (cache === undefined) return;
    this.caches.delete(id);
    this.firstSteps.delete(id);
    if (this.idleCaches.length < this.cachePool) {
      this.idleCaches.push(cache);                                          // commands encoded ahead for it stay valid
      return;
    }
    if (this.prepared?.cache === cache) this.prepared = null;             // its bind groups name the buffers freed here
    [...cache.keys, ...cache.values].forEach((b) => b.destroy());
  }

  /**
   * Keeps rows `0..length-1` of cache `id` and moves rows `from..from+count-1` right after them, in every
   * layer: two copies through a scratch buffer (WebGPU copies may not overlap within one buffer).
   */
  keepRows(id: number, length: number, from: number, count: number): void {
    const cache = this.cache(id);
    const rowBytes = 4 * this.config.numKeyValueHeads * headDim(this.config);
    if (count === 0) return;
    const encoder = this.device.createCommandEncoder();
    for (const buffer of [...cache.keys, ...cache.values]) {
      encoder.copyBufferToBuffer(buffer, from * rowBytes, this.buffers.rowScratch, 0, count * rowBytes);
      encoder.copyBufferToBuffer(this.buffers.rowScratch, 0, buffer, length * rowBytes, count * rowBytes);
    }
    this.device.queue.submit([encoder.finish()]);
  }

  /** [2, rows, Hkv*D] rows `0..rows-1` of layer `layer` of cache `id`: the keys, then the values. */
  readCache(id: number, layer: number, rows: number): Promise<Float32Array> {
    const cache = this.cache(id);
    return this.readBack([cache.keys[layer], cache.values[layer]], 4 * rows * this.config.numKeyValueHeads * headDim(this.config));
  }

  // ---------------------------------------------------------------- the forward

  /**
   * One forward: T tokens after P cached rows. Every kernel is in one command buffer, submitted once;
   * the argmax of each row is read back, the logits stay on the device for {@link GpuModel.readLogits}.
   * The command buffer was usually encoded ahead, while the GPU ran the previous forward, for the same
   * cache buffers and a guess at T (see `nextRows`: the largest T of the last {@link RECENT_FORWARDS}
   * forwards, rounded up to a power of two, the prompt left out), since commands depend on the cache's
   * buffers and the rows their grids cover, never on the tokens or P.
   *
   * @returns [T] the greedy token after each row
   */
  async forward(input: GpuForwardInput): Promise<Int32Array> {
    const started = performance.now();
    const { device, buffers } = this;
    const T = input.tokens.length;
    const P = input.cache === null ? 0 : input.P;
    this.writeInputs(input.tokens, P, input.positions, input.mask);

    // The commands depend on the cache and on the row count their grids cover, which may exceed T (the
    // kernels skip rows past T, read from the step buffer above; the queue orders these writes before the
    // submit). Use the commands encoded ahead when they fit; otherwise encode T rows now.
    const target = input.cache === null ? this.scratchCache! : this.cache(input.cache);
    const ahead = this.prepared;
    this.prepared = null;
    const prepared = ahead !== null && ahead.cache === target && T <= ahead.rows;
    const commands = prepared ? ahead.commands : this.encodeOne(T, target);
    const encoded = performance.now();
    device.queue.submit([commands]);                                                          // the one submit
    const submitted = performance.now();
    // While the GPU works, encode the next forward on the same cache (see nextRows).
    const rows = this.nextRows(input.cache, T, P);
    this.prepared = { rows, cache: target, commands: this.encodeOne(rows, target) };
    const aheadMs = performance.now() - submitted;
    // Wait for the queue, then map: the wait splits into the GPU's work and the read-back (measured as
    // fast as mapping at once, docs/webgpu.md §6).
    await device.queue.onSubmittedWorkDone();
    const queueMs = performance.now() - submitted;

    await buffers.idsRead.mapAsync(1, 0, 4 * T);
    const ids = new Int32Array(buffers.idsRead.getMappedRange(0, 4 * T).slice(0));
    buffers.idsRead.unmap();
    this.lastTiming = { prepared, rows: prepared ? ahead.rows : T, encodeMs: encoded - started, submitMs: submitted - encoded, aheadMs, waitMs: performance.now() - submitted, queueMs };
    return ids;
  }

  /** Writes a forward's sizes (the `Step` uniform: T, P, L = P + T, whether a mask is bound) and inputs. */
  private writeInputs(tokens: Uint32Array, P: number, positions: Uint32Array, mask: Uint32Array | null): void {
    const { device, buffers } = this;
    device.queue.writeBuffer(buffers.step, 0, Uint32Array.of(tokens.length, P, P + tokens.length, mask === null ? 0 : 1));
    device.queue.writeBuffer(buffers.tokens, 0, tokens);
    device.queue.writeBuffer(buffers.positions, 0, positions);
    if (mask !== null) device.queue.writeBuffer(buffers.mask, 0, mask);
  }

  /** The commands of a forward whose grids cover `rows` rows, on `cache`, ids copied out for mapping. */
  private encodeOne(rows: number, cache: GpuCache): GPUCommandBuffer {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    this.encodeForward(pass, rows, cache);
    pass.end();
    encoder.copyBufferToBuffer(this.buffers.ids, 0, this.buffers.idsRead, 0, 4 * rows);
    return encoder.finish();
  }

  /** The next forward's commands, encoded while the GPU ran the last one, for up to `rows` tokens (see {@link GpuModel.forward}). */
  private prepared: { readonly rows: number; readonly cache: GpuCache; readonly commands: GPUCommandBuffer } | null = null;

  /** T of the last few forwards on `recentCache`, its first (the prompt) left out: what the next forward's commands are encoded for. */
  private recentRows: number[] = [];
  /** The cache id of the last forward (null: the scratch cache; undefined before the first). */
  private recentCache: number | null | undefined = undefined;
  /** The largest T of the last decode's last few steps (its prompt left out): the guess for the next decode's first step. */
  private decodeRows = 1;
  /** Caches whose decoder said how many tokens its first step after the prompt forwards (`newCache`). */
  private readonly firstSteps = new Map<number, number>();

  /**
   * The rows to encode the next forward on `cache` for, after a forward of T tokens: the largest T of the
   * last few forwards on it, rounded up to a power of two — AR's 1 every time, Jacobi's block size n (its
   * block shrinks as tokens are accepted, then starts again at n). The first forward on a cache (P = 0) is a
   * decoder's prompt: it does not count, and the forward after it is the size its decoder gave `newCache`,
   * else guessed to be like the last decode's steps. A wrong guess costs the encoding only; a guess too
   * large costs a wider grid (and, from `smallRows` up, the large matmul tile).
   */
  private nextRows(cache: number | null, T: number, P: number): number {
    const first = cache !== null && P === 0;                              // a prompt: the first forward on a cache
    if (cache !== this.recentCache) {
      if (this.recentCache !== null && this.recentRows.length > 0) this.decodeRows = Math.max(...this.recentRows);   // not the oracle's cache-less forwards
      this.recentRows = [];
      this.recentCache = cache;
    }
    if (!first) this.recentRows = [...this.recentRows.slice(1 - RECENT_FORWARDS), T];
    const told = first ? this.firstSteps.get(cache) : undefined;
    const expected = this.recentRows.length > 0 ? Math.max(...this.recentRows) : told ?? this.decodeRows;
    return Math.min(this.config.maxPositions, 2 ** Math.ceil(Math.log2(expected)));
  }

  /** How the last forward ran, seen from this thread (see {@link ForwardTiming}). */
  lastTiming: ForwardTiming = { prepared: false, rows: 0, encodeMs: 0, submitMs: 0, aheadMs: 0, waitMs: 0, queueMs: 0 };

  /**
   * Records the dispatches of a forward over T tokens into `pass`, in data-flow order; `keep`, for a
   * benchmark ({@link GpuModel.forBenchmarks}), records only some kernels.
   */
  private encodeForward(pass: GPUComputePassEncoder, T: number, cache: GpuCache, keep: (kernel: ForwardKernel) => boolean = () => true): void {
    const plan = this.plan!;
    const { hiddenSize: C, intermediateSize: I, numHeads: H, numKeyValueHeads: Hkv } = this.config;
    const dispatch = (kernel: ForwardKernel, pipeline: GPUComputePipeline, group: GPUBindGroup, x: number, y = 1): void => {
      if (!keep(kernel)) return;
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y);
    };
    const run = (name: keyof ForwardPlan["kernels"], group: GPUBindGroup, x: number, y = 1): void => dispatch(name, plan.kernels[name], group, x, y);
    const matmul = (chunks: BoundMatmul[]): void => chunks.forEach((m) => {
      const { tile, pipeline, group } = T <= this.tiles.smallRows ? m.small : m.large;
      dispatch("matmul", pipeline, group, Math.ceil(T / (tile.TM * tile.GM)), Math.ceil(m.shape.N / (tile.TN * tile.GN)));
    });

    plan.embedding.forEach((e) => dispatch("embedding", e.pipeline, e.group, Math.ceil(C / 256), T));   // x [T, C]
    plan.layers.forEach((layer, l) => {
      // attention block: pre-norm, fused q/k/v, (Qwen3: normalise each head,) rotate and append to the cache, attend, project back
      run("rmsNorm", layer.inputNorm, T);                                                     // h [T, C]
      matmul(layer.qkv);                                                                      // qkv [T, Q]
      run("rope", cache.rope[l], H + Hkv, T);                                                 // cache rows P..L-1
      run("attention", cache.attention[l], H, T);                                             // attn [T, H*D]
      matmul(layer.wo);                                                                       // x += attn wo^T
      // MLP block: pre-norm, fused gate/up, SwiGLU, down
      run("rmsNorm", layer.postNorm, T);                                                      // h [T, C]
      matmul(layer.gu);                                                                       // gu [T, 2I]
      run("swiglu", plan.swiglu, Math.ceil(I / 256), T);                                      // g [T, I]
      matmul(layer.down);                                                                     // x += g wDown^T
    });
    run("rmsNorm", plan.norm, T);                                                             // h [T, C]
    matmul(plan.lmHead);                                                                      // logits [T, V]
    run("argmax", plan.argmax, T);                                                            // ids [T]
  }

  /** [T, V] the logits of the last forward's T rows. */
  readLogits(T: number): Promise<Float32Array> {
    return this.readBack([this.buffers.logits], 4 * T * this.config.vocabSize);
  }

  // ---------------------------------------------------------------- for benchmarks

  /** The model's kernels and device, for a benchmark to time them alone (see {@link GpuModelForBenchmarks}). */
  forBenchmarks(): GpuModelForBenchmarks {
    const plan = this.plan!;
    return {
      device: this.device,
      writeInputs: (T) => this.writeInputs(new Uint32Array(T), 0, Uint32Array.from({ length: T }, (_, i) => i), null),
      encodeForward: (pass, T, keep) => this.encodeForward(pass, T, this.scratchCache!, keep),
      matmul: (matrix, tile) => {
        const bound = (matrix === "lmHead" ? [plan.lmHead] : plan.layers.map((layer) => layer[matrix])).map((chunks) => chunks[0]);
        const { shape } = bound[0];
        const pipeline = this.matmulPipeline(shape, tile);
        return { shape, pipeline, groups: bound.map((m) => this.bindGroup(pipeline, m.buffers)) };
      },
    };
  }

  // ---------------------------------------------------------------- plumbing

  private cache(id: number): GpuCache {
    const cache = this.caches.get(id);
    if (cache === undefined) throw new Error(`GpuModel: no cache ${id} (freed, or made by another runner)`);
    return cache;
  }

  private allocateCache(): GpuCache {
    const { numLayers, numKeyValueHeads: Hkv, maxPositions: R } = this.config;
    const width = Hkv * headDim(this.config);
    const make = (name: string): GPUBuffer => this.device.createBuffer({ label: name, size: 4 * R * width, usage: STORAGE | COPY_SRC | COPY_DST });
    const keys = Array.from({ length: numLayers }, (_, l) => make(`keys ${l}`));
    const values = Array.from({ length: numLayers }, (_, l) => make(`values ${l}`));
    const b = this.buffers;
    const { rope, attention } = this.plan!.kernels;
    return {
      keys, values,
      rope: keys.map((k, l) => this.bindGroup(rope, [b.step, b.positions, b.cos, b.sin, b.qkv, k, values[l], this.layers[l].qkNorm].filter((x): x is GPUBuffer => x !== null))),
      attention: keys.map((k, l) => this.bindGroup(attention, [b.step, b.qkv, k, values[l], b.mask, b.attn])),
    };
  }

  /** Compiles the kernels and binds every weight and activation once; a forward then only records dispatches. */
  private makePlan(): ForwardPlan {
    const { hiddenSize: C, intermediateSize: I, numHeads: H, numKeyValueHeads: Hkv, vocabSize: V, maxPositions: R, rmsNormEps } = this.config;
    const D = headDim(this.config);
    const Q = (H + 2 * Hkv) * D;
    const b = this.buffers;
    // Matrix `name` bound to each buffer of its weight, and for forwards of up to smallRows tokens and above
    // its tile (shrunk to this device's workgroup memory), kernel and bind group.
    const bound = (name: MatrixName, whole: MatmulShape, x: GPUBuffer, w: GpuWeight, out: GPUBuffer, bias: GPUBuffer | null): BoundMatmul[] => w.chunks.map((chunk) => {
      const shape = { ...whole, N: chunk.rows, dtype: w.dtype, first: chunk.first, width: whole.N };
      const buffers = bias === null ? [b.step, x, chunk.buffer, out] : [b.step, x, chunk.buffer, out, bias];
      const tiled = (rows: number): TiledPipeline => {
        const tile = fitTile(tileFor(this.tiles, name, whole.N, rows, w.dtype), this.device.limits.maxComputeWorkgroupStorageSize);
        const groups = Math.ceil(shape.N / (tile.TN * tile.GN));
        if (groups > this.device.limits.maxComputeWorkgroupsPerDimension) {
          throw new Error(`GpuModel: matmul tile ${JSON.stringify(tile)} needs ${groups} workgroups along N = ${shape.N}, the device allows ${this.device.limits.maxComputeWorkgroupsPerDimension}; use more columns per workgroup`);
        }
        const pipeline = this.matmulPipeline(shape, tile);
        return { tile, pipeline, group: this.bindGroup(pipeline, buffers) };
      };
      return { shape, buffers, small: tiled(1), large: tiled(this.tiles.smallRows + 1) };
    });
    const { embed, lmHead } = this.weights;
    const kernels = {                                                       // compiled now: errors surface at load
      rmsNorm: this.compile("rmsNorm", rmsNormSource(C, rmsNormEps)),
      rope: this.compile("rope", ropeCacheSource(H, Hkv, D, this.layers[0].qkNorm !== null ? rmsNormEps : undefined)),
      attention: this.compile("attention", attentionSource(H, Hkv, D, R)),
      swiglu: this.compile("swiglu", swigluSource(I)),
      argmax: this.compile("argmax", argmaxSource(V)),
    };
    return {
      kernels,
      swiglu: this.bindGroup(kernels.swiglu, [b.step, b.gu, b.g]),
      embedding: embed.chunks.map((chunk) => {
        const pipeline = this.compile("embedding", embeddingSource(C, embed.dtype, chunk.first, chunk.rows));
        return { pipeline, group: this.bindGroup(pipeline, [b.step, b.tokens, chunk.buffer, b.x]) };
      }),
      layers: this.layers.map((layer) => ({
        inputNorm: this.bindGroup(kernels.rmsNorm, [b.step, b.x, layer.inputNorm, b.h]),
        qkv: bound("qkv", { K: C, N: Q, bias: layer.bqkv !== null, residual: false }, b.h, layer.wqkv, b.qkv, layer.bqkv),
        wo: bound("wo", { K: H * D, N: C, bias: false, residual: true }, b.attn, layer.wo, b.x, null),
        postNorm: this.bindGroup(kernels.rmsNorm, [b.step, b.x, layer.postNorm, b.h]),
        gu: bound("gu", { K: C, N: 2 * I, bias: false, residual: false }, b.h, layer.wgu, b.gu, null),
        down: bound("down", { K: I, N: C, bias: false, residual: true }, b.g, layer.wDown, b.x, null),
      })),
      norm: this.bindGroup(kernels.rmsNorm, [b.step, b.x, b.norm, b.h]),
      lmHead: bound("lmHead", { K: C, N: V, bias: false, residual: false }, b.h, lmHead, b.logits, null),
      argmax: this.bindGroup(kernels.argmax, [b.step, b.logits, b.ids]),
    };
  }

  /** The matmul of `shape` for `tile`, compiled on first use (every layer's matrix of a kind shares it). */
  private matmulPipeline(shape: MatmulShape, tile: MatmulTile): GPUComputePipeline {
    const bytes = matmulWorkgroupBytes(tile);
    if (bytes > this.device.limits.maxComputeWorkgroupStorageSize) {
      throw new Error(`GpuModel: matmul tile ${JSON.stringify(tile)} needs ${bytes} bytes of workgroup memory, the device allows ${this.device.limits.maxComputeWorkgroupStorageSize}`);
    }
    const key = `matmul ${JSON.stringify(shape)} ${JSON.stringify(tile)}`;
    let pipeline = this.matmuls.get(key);
    if (pipeline === undefined) {
      pipeline = this.compile(key, matmulSource(shape, tile));
      this.matmuls.set(key, pipeline);
    }
    return pipeline;
  }

  /**
   * A compute kernel from WGSL `code`, entry point `main`. Its bind-group layout is the one its WGSL
   * declares (binding 0 the `Step` uniform, then storage buffers read-only or read-write): `"auto"`.
   */
  private compile(label: string, code: string): GPUComputePipeline {
    return this.device.createComputePipeline({
      label,
      layout: "auto",
      compute: { module: this.device.createShaderModule({ label, code }), entryPoint: "main" },
    });
  }

  /** A bind group for `pipeline`'s kernel: `buffers` at bindings 0, 1, ... in order. */
  private bindGroup(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** The first `bytes` of each of `sources`, back to back, read back through one staging buffer. */
  private async readBack(sources: GPUBuffer[], bytes: number): Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: Math.max(sources.length * bytes, 4), usage: MAP_READ | COPY_DST });
    const encoder = this.device.createCommandEncoder();
    if (bytes > 0) sources.forEach((source, i) => encoder.copyBufferToBuffer(source, 0, staging, i * bytes, bytes));
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(1);
    const data = new Float32Array(staging.getMappedRange().slice(0, sources.length * bytes));
    staging.unmap();
    staging.destroy();
    return data;
  }
}

// ---------------------------------------------------------------- helpers

/**
 * `scale f(pos inverse[j])` for every position and pair j, [maxPositions, D/2], with the frequencies of
 * `ropeFrequencies` (any RoPE scaling, YaRN's factor on cos and sin): computed in float64 as on the CPU,
 * then rounded once to float32.
 */
function ropeTable(target: Float32Array, config: ModelConfig, f: (angle: number) => number): void {
  const { inverse, scale } = ropeFrequencies(config);
  for (let pos = 0; pos < config.maxPositions; pos++) inverse.forEach((freq, j) => { target[pos * inverse.length + j] = scale * f(pos * freq); });
}

/**
 * For each weight of `parts` (stacked) that values `from .. from + count - 1` reach into: its name, the
 * first of its values they reach, how many, and where that piece starts among the `count`.
 *
 * @example
 * ```ts
 * forEachPiece([["a", 4], ["b", 4]], 2, 4, (...piece) => console.log(piece)); // ["a", 2, 2, 0], then ["b", 0, 2, 2]
 * ```
 * @category WebGPU
 */
export function forEachPiece(parts: readonly WeightPart[], from: number, count: number, visit: (name: string, start: number, n: number, at: number) => void): void {
  let offset = 0;                                                                  // where this part starts in the stack
  for (const [name, size] of parts) {
    const start = Math.max(from, offset), end = Math.min(from + count, offset + size);
    if (start < end) visit(name, start - offset, end - start, start - from);
    offset += size;
  }
}

/**
 * The reader of weights held in memory (float64 arrays, rounded to float32 on upload) or of seeded
 * uniform noise: float32 both. Noise is xorshift32 seeded by the seed and the first part's name, over
 * the whole stack, uniform on [-a, a] (std a / sqrt(3)); norm gains are 1.
 *
 * @example
 * ```ts
 * await GpuModel.create(device, config, weightReader({ kind: "random", seed: 1, std: 0.02 }));
 * ```
 * @category WebGPU
 */
export function weightReader(source: NamedWeights | RandomSource): WeightReader {
  if (source.kind === "arrays") {
    return {
      dtype: () => "F32",
      read: (parts, from, count, target) => forEachPiece(parts, from, count, (name, start, n, at) => {
        const array = source.arrays[name];
        if (array === undefined) throw new Error(`GpuModel.create: the weights have no ${name}`);
        new Float32Array(target, 4 * at, n).set(array.subarray(start, start + n));
      }),
    };
  }
  const a = source.std * Math.sqrt(3);
  return {
    dtype: () => "F32",
    read: (parts, from, count, target) => {
      const values = new Float32Array(target, 0, count);
      const name = parts[0][0];
      if (name.endsWith("Norm") || name === "norm") { values.fill(1); return; }
      let state = (source.seed * 2654435761 + [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7)) | 0 || 1;
      for (let i = 0; i < from + count; i++) {                                        // the stream from the stack's start
        state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
        if (i >= from) values[i - from] = ((state >>> 0) / 4294967296 * 2 - 1) * a;
      }
    },
  };
}
