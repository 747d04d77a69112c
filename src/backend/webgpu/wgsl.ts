/**
 * The WGSL kernels of the inference forward, as source-text generators: token embedding, RMSNorm,
 * matrix product (with bias and residual epilogues), RoPE with the KV-cache write (and Qwen3's RMSNorm
 * of each q and k head before it), attention over the cache, SwiGLU, and argmax. Sizes known when the model is loaded are baked into the text as constants;
 * the sizes of one forward (T, P, L) come from a small uniform buffer, `Step`.
 *
 * **Batch invariance, as on the CPU** (`src/tensor/kernels.ts`). Every output element is reduced in an
 * order that depends only on the model's sizes, never on T — so a token's logits are bit-identical
 * whether it is forwarded alone or inside a 64-token Jacobi block, and Jacobi decoding on the GPU returns
 * exactly the GPU's own AR greedy. The orders are not the CPU's (a GPU reduces in parallel), which is
 * why GPU logits equal CPU logits only to float32 rounding (about 1e-6 relative), not bit for bit:
 * - matmul: the dot product over K is split over 32 lanes; lane `l` sums the elements of quads
 *   `l, l+32, l+64, ...` (`k = 4q+e`, ascending), then lane sums are added `0 + 1 + ... + 31` in order.
 *   Every tile shape uses this order; tiles differ only in which thread computes which outputs.
 * - RMSNorm's sum of squares: 256 threads take strided elements, then a fixed halving tree. Qwen3's
 *   head norm: each thread sums its head's D squares itself, in order.
 * - attention's sums (of the exps, and of the weighted values): each by one thread, keys in ascending
 *   order, an invisible key adding an exact 0 — so a row's result depends on which keys it sees, not on
 *   where they sit in the cache (multi-block forwards candidate rows at other cache rows than they end up in).
 * - argmax: exact (a maximum does not depend on order); ties go to the lowest index, as `argmaxKernel`.
 *
 * **16-bit weights** (F16, BF16) stay 16-bit in GPU memory, two to a u32 in the file's order, and are
 * widened to float32 exactly as they are loaded (`pair`): the arithmetic, and its order, is the float32
 * kernels', so a 16-bit model gives bit for bit the logits of its weights widened to float32 on the host.
 *
 * Grids may cover more rows than T: the worker encodes a forward's commands ahead, for a row count at
 * least T (`GpuModel.forward`), so every kernel skips the rows (or whole workgroups of rows) past `step.T`.
 *
 * What it is not: tuned for one card. The matmul is the kernel that matters (it streams every weight
 * once per forward); `docs/webgpu.md` records what it reaches on the lent H200 and H100, and the tile sweep that chose the defaults.
 *
 * Shape legend: T tokens in this forward, P cached rows, L = P + T keys, C width, I MLP width, H query
 * heads, Hkv key/value heads, D head size, V vocabulary, Q = (H + 2 Hkv) D the fused q/k/v width.
 *
 * Read next: `gpu-model.ts`, which dispatches these kernels in data-flow order.
 *
 * @module
 */

/**
 * The per-forward uniform every kernel reads, binding 0: T tokens, P cached rows, L = P + T, and
 * whether a mask is bound.
 *
 * @category WebGPU
 */
export const STEP = `struct Step { T: u32, P: u32, L: u32, hasMask: u32 }
@group(0) @binding(0) var<uniform> step: Step;`;

/** The lowest finite float32: WGSL rejects infinities in constant expressions. */
const NEG_INF = "-0x1.fffffep+127f";

/**
 * How a weight matrix (and the embedding) is held in GPU memory: float32, or the 16-bit formats of
 * safetensors, two values to a u32, the first in the low half (a file's bytes, copied as they are).
 *
 * @category WebGPU
 */
export type WeightDType = "F32" | "F16" | "BF16";

/**
 * WGSL that widens 16-bit weights exactly to float32: `pair(u)` the two values of a u32 (the first in the low
 * half), `quad(w)` the four of a vec2<u32>, `element(u, i)` value `i` of a packed array when `u` is its word
 * `i / 2`. BF16 is the upper half of a float32; F16 goes through `unpack2x16float`, subnormals included
 * (specced). Nothing for F32.
 */
function unpacking(dtype: WeightDType): string {
  if (dtype === "F32") return "";
  return `${dtype === "F16" ? "fn pair(u: u32) -> vec2<f32> { return unpack2x16float(u); }"
    : "fn pair(u: u32) -> vec2<f32> { return bitcast<vec2<f32>>(vec2<u32>(u << 16u, u & 0xffff0000u)); }"}
fn quad(w: vec2<u32>) -> vec4<f32> { return vec4<f32>(pair(w.x), pair(w.y)); }
fn element(u: u32, i: u32) -> f32 { return pair(u)[i & 1u]; }`;
}

/** WGSL for value `index` (an expression) of the weights `array` held as `dtype`, one value at a time. */
function weightAt(array: string, index: string, dtype: WeightDType): string {
  return dtype === "F32" ? `${array}[${index}]` : `element(${array}[(${index}) >> 1u], ${index})`;
}

/** A float literal WGSL accepts (always with a point or exponent). */
function f32(x: number): string {
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

// ---------------------------------------------------------------- embedding

/**
 * `x[i, c] = table[tokens[i], c]`, one thread per element; [T, C]. The table may be split by rows over
 * several buffers (`GpuModel`): this one holds rows `first .. first + rows - 1`, and a token outside them
 * is another dispatch's. Grid: x = ceil(C / 256), y = T.
 *
 * @example
 * ```ts
 * embeddingSource(16, "F32", 0, 100).includes("table[t * 16u + g.x]"); // true: C = 16 is compiled in
 * embeddingSource(16, "BF16", 64, 36).includes("tokens[i] - 64u");    // true: rows 64..99, packed two to a u32
 * ```
 * @category WebGPU
 */
export function embeddingSource(C: number, dtype: WeightDType, first: number, rows: number): string {
  return `${STEP}
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<${dtype === "F32" ? "f32" : "u32"}>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
${unpacking(dtype)}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y;                                        // the row; g.x is the column
  let t = tokens[i] - ${first}u;                      // the token's row in this buffer (wraps past the end below its first)
  if (i >= step.T || g.x >= ${C}u || t >= ${rows}u) { return; }
  x[i * ${C}u + g.x] = ${weightAt("table", `t * ${C}u + g.x`, dtype)};
}`;
}

// ---------------------------------------------------------------- RMSNorm

/**
 * `out = x / sqrt(mean(x^2) + eps) * w`, one 256-thread workgroup per row; [T, C].
 *
 * @example
 * ```ts
 * rmsNormSource(16, 1e-6).includes("c < 16u"); // true: C = 16 is compiled in, 256 threads stride over a row
 * ```
 * @category WebGPU
 */
export function rmsNormSource(C: number, eps: number): string {
  return `${STEP}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  if (wg.x >= step.T) { return; }                      // a grid encoded for more rows than this forward has
  let o = wg.x * ${C}u;
  var ss = 0.0;
  for (var c = t; c < ${C}u; c += 256u) { let v = x[o + c]; ss = ss + v * v; }
  part[t] = ss;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {           // the fixed halving tree
    if (t < s) { part[t] = part[t] + part[t + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(part[0] / ${f32(C)} + ${f32(eps)});
  for (var c = t; c < ${C}u; c += 256u) { out[o + c] = x[o + c] * inv * w[c]; }
}`;
}

// ---------------------------------------------------------------- matrix product

/**
 * The tile a matmul workgroup computes; every tile reduces in the same order (see the module header).
 *
 * @category WebGPU
 */
export interface MatmulTile {
  /** Rows (tokens) per thread. */
  readonly TM: number;
  /** Columns (weight rows) per thread. */
  readonly TN: number;
  /** Thread groups of 32 lanes along the rows; a workgroup has 32 GM GN threads, GM GN ≤ 8. */
  readonly GM: number;
  /** Thread groups along the columns. */
  readonly GN: number;
  /**
   * Quads each lane loads before it multiplies any (default 1): more loads in flight per thread, the
   * same order of additions (a lane still adds its quads in ascending order). Used when K is a multiple of 4.
   */
  readonly U?: number;
}

/**
 * What a matmul kernel computes: `out[i, first + n] (+)= sum_k x[i, k] w[n, k] (+ bias[first + n])`.
 *
 * @category WebGPU
 */
export interface MatmulShape {
  /** The reduction length (input width). */
  readonly K: number;
  /** Output columns this kernel computes (the rows of its weight buffer). */
  readonly N: number;
  /** Add `bias[n]` (Qwen2's q/k/v biases). */
  readonly bias: boolean;
  /** Add into `out` (the residual stream) instead of overwriting it. */
  readonly residual: boolean;
  /** How the weights are held (default F32). */
  readonly dtype?: WeightDType;
  /** Of a matrix split by rows over several buffers, the first output column this one computes (default 0). */
  readonly first?: number;
  /** Columns of `out` and `bias`, the whole matrix's rows (default N). */
  readonly width?: number;
}

/**
 * Bytes of workgroup memory a matmul tile needs: the 32 lane sums of each of its outputs (plus one pad
 * word per output). A device allows `maxComputeWorkgroupStorageSize` (WebGPU guarantees 16384).
 *
 * @example
 * ```ts
 * matmulWorkgroupBytes({ TM: 4, TN: 4, GM: 2, GN: 4 }); // 16896: 128 outputs x 33 words x 4 bytes
 * ```
 * @category WebGPU
 */
export function matmulWorkgroupBytes(tile: MatmulTile): number {
  return 4 * 33 * tile.TM * tile.TN * tile.GM * tile.GN;
}

/**
 * `out[i, n] = (residual ? out[i, n] : 0) + (sum_k x[i, k] w[n, k] + bias[n])` for i < T: the Linear layer,
 * weights stored [N, K] as on the CPU. A workgroup is GM x GN groups of 32 lanes; each thread keeps
 * TM x TN partial sums of its lane's share of K, then the workgroup adds the 32 lane sums of each output
 * in lane order. Small workgroups (GM GN = 2) give a narrow matrix at T = 1 enough workgroups to keep
 * every multiprocessor streaming; large tiles reuse each loaded weight for TM tokens. Weights are read as
 * vec4 when K is a multiple of 4 (same order: a quad is 4 consecutive k) — 16-bit ones as a vec2<u32>
 * widened to a vec4, so a warp reads 256 contiguous bytes a step — else one value at a time (16-bit:
 * half a u32; no padding, since one value at a time needs none).
 * Grid: x = ceil(T / (TM GM)) row tiles (fastest, so the tiles sharing weights run together), y = ceil(N / (TN GN)).
 *
 * @example
 * ```ts
 * matmulSource({ K: 16, N: 32, bias: false, residual: true }, { TM: 4, TN: 4, GM: 2, GN: 4 }).includes("@workgroup_size(256)"); // true: 2 x 4 groups of 32 lanes
 * ```
 * @category WebGPU
 */
export function matmulSource(shape: MatmulShape, tile: MatmulTile): string {
  const { K, N, bias, residual, dtype = "F32", first = 0, width = N } = shape;
  const { TM, TN, GM, GN } = tile;
  if (![TM, TN, GM, GN].every((v) => Number.isInteger(v) && v >= 1) || GM * GN > 8) {
    throw new Error(`matmulSource: tile ${JSON.stringify(tile)} must have positive integer sizes and GM * GN ≤ 8`);
  }
  const threads = 32 * GM * GN;
  const vec = K % 4 === 0;
  const K4 = Math.ceil(K / 4);
  const outs = GM * GN * TM * TN;                             // outputs per workgroup
  const as = [...Array(TM).keys()];
  const bs = [...Array(TN).keys()];
  const pairs = as.flatMap((a) => bs.map((b) => [a, b] as const));
  const U = vec ? (tile.U ?? 1) : 1;
  // One step of a lane over `count` quads (vec4 loads): load quads q, q+32, ... first, then add them in ascending order.
  const quads = (count: number): string[] => {
    const us = [...Array(count).keys()];
    return [
      ...us.flatMap((u) => [
        ...as.map((a) => `let x${a}_${u} = xs[min(row0 + ${a}u, M - 1u) * ${K4}u + q + ${32 * u}u];`),
        ...bs.map((b) => `let w${b}_${u} = ${dtype === "F32" ? "" : "quad"}(ws[min(col0 + ${b}u, ${N - 1}u) * ${K4}u + q + ${32 * u}u]);`),
      ]),
      ...us.flatMap((u) => pairs.map(([a, b]) => ["x", "y", "z", "w"].map((e) => `acc${a}_${b} = acc${a}_${b} + x${a}_${u}.${e} * w${b}_${u}.${e};`).join(" "))),
    ];
  };
  // Without vec4 loads, one element at a time, the quad's elements in order.
  const loads = vec
    ? quads(U)
    : [0, 1, 2, 3].flatMap((e) => [
      `if (4u * q + ${e}u < ${K}u) {`,
      ...as.map((a) => `  let x${a} = xs[min(row0 + ${a}u, M - 1u) * ${K}u + 4u * q + ${e}u];`),
      ...bs.map((b) => `  let w${b} = ${weightAt("ws", `min(col0 + ${b}u, ${N - 1}u) * ${K}u + 4u * q + ${e}u`, dtype)};`),
      ...pairs.map(([a, b]) => `  acc${a}_${b} = acc${a}_${b} + x${a} * w${b};`),
      "}",
    ]);
  // With U > 1, the quads left over after the last full step, one at a time.
  const tail = U === 1 ? [] : quads(1);
  const type = vec ? "vec4<f32>" : "f32";
  const packed = vec ? "vec2<u32>" : "u32";                   // 16-bit weights: a quad, or two values
  return `${STEP}
@group(0) @binding(1) var<storage, read> xs: array<${type}>;
@group(0) @binding(2) var<storage, read> ws: array<${dtype === "F32" ? type : packed}>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${bias ? "@group(0) @binding(4) var<storage, read> bias: array<f32>;" : ""}
var<workgroup> red: array<f32, ${outs * 33}>;            // [outputs][32 lanes + 1 pad against bank conflicts]: matmulWorkgroupBytes
${unpacking(dtype)}
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = step.T;
  if (wg.x * ${TM * GM}u >= M) { return; }              // a whole tile of rows past T (a grid encoded for more rows)
  let lane = t % 32u;
  let group = t / 32u;
  let row0 = wg.x * ${TM * GM}u + (group / ${GN}u) * ${TM}u;
  let col0 = wg.y * ${TN * GN}u + (group % ${GN}u) * ${TN}u;
  ${pairs.map(([a, b]) => `var acc${a}_${b} = 0.0;`).join(" ")}
  var q = lane;
  for (; q + ${32 * (U - 1)}u < ${K4}u; q += ${32 * U}u) {
    ${loads.join("\n    ")}
  }
  ${U === 1 ? "" : `for (; q < ${K4}u; q += 32u) {
    ${tail.join("\n    ")}
  }`}
  let slot = group * ${TM * TN}u;
  ${pairs.map(([a, b]) => `red[(slot + ${a * TN + b}u) * 33u + lane] = acc${a}_${b};`).join("\n  ")}
  workgroupBarrier();
  for (var o = t; o < ${outs}u; o += ${threads}u) {
    var sum = red[o * 33u];
    for (var l = 1u; l < 32u; l++) { sum = sum + red[o * 33u + l]; }   // lane order: 0 + 1 + ... + 31
    let g = o / ${TM * TN}u;
    let r = o % ${TM * TN}u;
    let row = wg.x * ${TM * GM}u + (g / ${GN}u) * ${TM}u + r / ${TN}u;
    let col = wg.y * ${TN * GN}u + (g % ${GN}u) * ${TN}u + r % ${TN}u;
    if (row < M && col < ${N}u) {
      let y = ${bias ? `sum + bias[${first}u + col]` : "sum"};
      let at = row * ${width}u + ${first}u + col;
      out[at] = ${residual ? "out[at] + y" : "y"};
    }
  }
}`;
}

// ---------------------------------------------------------------- RoPE and the cache write

/**
 * Rotates the q and k heads of `qkv` [T, Q] by each token's position (Hugging Face "rotate half", cos
 * and sin from a float64 table rounded once to float32, already times YaRN's scale) and writes k and v
 * to cache rows P .. P+T-1. With `headNormEps` (Qwen3) each q and k head is first RMS-normalised over its
 * D values, `x / sqrt(mean(x^2) + eps) * gain`, with `norms` [H + Hkv, D] each head's gain (Qwen3 has
 * one for the q heads, one for the k heads); every thread of the head sums the squares itself,
 * d = 0, 1, ... in order, as the CPU does.
 * One workgroup per (head, row), its threads taking the head's D/2 pairs; grid x = H + Hkv, y = T.
 *
 * @example
 * ```ts
 * ropeCacheSource(4, 2, 4).includes("@workgroup_size(2)"); // true: a thread per rotated pair of a head (D = 4)
 * ropeCacheSource(4, 2, 32, 1e-6).includes("norms");     // true: Qwen3's gains of each q and k head
 * ```
 * @category WebGPU
 */
export function ropeCacheSource(H: number, Hkv: number, D: number, headNormEps?: number): string {
  const half = D / 2;
  const Q = (H + 2 * Hkv) * D;
  const W = Hkv * D;
  const threads = Math.min(half, 64);
  const norm = headNormEps !== undefined;
  // Qwen3: the head's 1 / rms; every thread reads the head whole before any thread of the workgroup
  // rotates it in place
  const headNorm = norm ? `let g = select(${D}u, 0u, h < ${H}u);          // this head's gains: the q heads' or the k heads'
  var ss = 0.0;
  for (var d = 0u; d < ${D}u; d++) { let v = qkv[o + d]; ss = ss + v * v; }
  let inv = 1.0 / sqrt(ss / ${f32(D)} + ${f32(headNormEps)});
  storageBarrier();` : "";
  return `${STEP}
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> cosTable: array<f32>;   // [maxPositions, D/2]
@group(0) @binding(3) var<storage, read> sinTable: array<f32>;
@group(0) @binding(4) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(5) var<storage, read_write> keys: array<f32>;    // [maxPositions, Hkv*D]
@group(0) @binding(6) var<storage, read_write> values: array<f32>;
${norm ? "@group(0) @binding(7) var<storage, read> norms: array<f32>;     // [2, D]: the q heads' gain, the k heads'" : ""}
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let i = wg.y;
  if (i >= step.T) { return; }                        // a grid encoded for more rows than this forward has
  let o = i * ${Q}u + h * ${D}u;                      // the k heads' columns follow the q heads'
  ${headNorm}
  for (var j = t; j < ${half}u; j += ${threads}u) {
    let c = cosTable[positions[i] * ${half}u + j];
    let s = sinTable[positions[i] * ${half}u + j];
    let x1 = qkv[o + j]${norm ? ` * inv * norms[g + j]` : ""};
    let x2 = qkv[o + j + ${half}u]${norm ? ` * inv * norms[g + j + ${half}u]` : ""};
    let y1 = x1 * c - x2 * s;
    let y2 = x2 * c + x1 * s;
    if (h < ${H}u) {
      qkv[o + j] = y1;
      qkv[o + j + ${half}u] = y2;
      continue;
    }
    let r = (step.P + i) * ${W}u + (h - ${H}u) * ${D}u;
    keys[r + j] = y1;
    keys[r + j + ${half}u] = y2;
    values[r + j] = qkv[o + ${W}u + j];
    values[r + j + ${half}u] = qkv[o + ${W}u + j + ${half}u];
  }
}`;
}

// ---------------------------------------------------------------- attention

/**
 * The bytes of workgroup memory the attention kernel uses for a model of `maxPositions` positions, as
 * WebGPU counts them (each variable rounded up to 16 bytes): the scores of one row (and 4 zeros past its
 * last key), the 128-wide max tree and the sum of the exps.
 *
 * @example
 * ```ts
 * attentionWorkgroupBytes(2048); // 8736 = 8208 + 512 + 16
 * ```
 * @category WebGPU
 */
export function attentionWorkgroupBytes(maxPositions: number): number {
  const roundUp = (bytes: number) => 16 * Math.ceil(bytes / 16);
  return roundUp(4 * (maxPositions + 4)) + roundUp(4 * 128) + roundUp(4);
}

/**
 * Scaled dot-product attention of query row i, head h over the visible cached keys j (ascending):
 * `s_j = (q · k_j) / sqrt(D)`, `p_j = exp(s_j - max_j s_j)`, `out = (sum_j p_j v_j) / (sum_j p_j)`.
 * One 128-thread workgroup per (h, i); the row's scores live in workgroup memory (`maxPositions + 4` floats).
 * A row that sees no key gets 0.
 * Visible keys: j ≤ P + i (causal), or the bit `i L + j` of the mask. Grid: x = H, y = T.
 *
 * 1. Scores, one thread per key: the query in registers, the key's row loaded whole (vec4 loads when D is
 *    a multiple of 4) before the dot product adds `q_d k_d` for d = 0, 1, ... in order.
 * 2. Their max, a tree (a maximum is exact in any order). Then `p_j`, with an exact 0 for every invisible
 *    key and for the 4 slots past the last one.
 * 3. Threads d < D each add `p_j v_jd` over j = 0, 1, ... in order (four values loaded ahead), while
 *    thread 127 adds the `p_j` (for D ≥ 128 it is added first, by thread 0); then each output is divided
 *    once by that sum.
 *
 * The sums run over every key below the row's end, but an invisible key adds an exact +0 (its product is
 * replaced by 0 whenever `p_j` is 0, so that a stale or non-finite value row cannot leak in), and adding
 * +0 changes no sum: the bits depend on the visible keys' values in ascending order only, never on
 * where they sit in the cache or on how many rows the forward has.
 *
 * @example
 * ```ts
 * attentionSource(32, 4, 64, 2048).includes("@workgroup_size(128)"); // true: one 128-thread workgroup per (head, query row)
 * ```
 * @category WebGPU
 */
export function attentionSource(H: number, Hkv: number, D: number, maxPositions: number): string {
  const { prelude, scores, weighted } = attentionParts(H, Hkv, D, maxPositions);
  return `${prelude}\n${scores}\n${weighted}\n}`;
}

/**
 * The three parts of {@link attentionSource}'s text, which is `prelude`, `scores`, `weighted` and a
 * closing brace. The attention experiment (`bench/experiments/gpu-attention.ts`) keeps the first two and tries
 * other third parts.
 *
 * @category WebGPU
 */
export interface AttentionParts {
  /** The bindings, the workgroup memory (`scores`, `red`, `expSum`), `visible`, and `main` up to `end`, the row's key count. */
  readonly prelude: string;
  /** Phases 1 and 2's max: each visible key's score into `scores[j]`, and their max into `m`. */
  readonly scores: string;
  /** Phase 2's `p_j` and phase 3: the output rows. */
  readonly weighted: string;
}

/**
 * {@link attentionSource} in its three parts ({@link AttentionParts}).
 *
 * @example
 * ```ts
 * const { prelude, scores } = attentionParts(32, 4, 64, 2048);
 * const code = `${prelude}\n${scores}\n  out[i * 2048u + h * 64u + t] = m;\n}`; // a variant: write the max
 * ```
 * @category WebGPU
 */
export function attentionParts(H: number, Hkv: number, D: number, maxPositions: number): AttentionParts {
  const Q = (H + 2 * Hkv) * D;
  const W = Hkv * D;
  // Phase 1's loads: vec4 when every row offset is a multiple of 4, else one float at a time.
  const lanes = D % 4 === 0 ? ["x", "y", "z", "w"] : [""];
  const n = D / lanes.length;
  const type = lanes.length === 4 ? "vec4<f32>" : "f32";
  const loadQ = Array.from({ length: n }, (_, c) => `  let q${c} = qkv[qo + ${c}u];`).join("\n");
  const loadK = Array.from({ length: n }, (_, c) => `      let k${c} = keys[kb + ${c}u];`).join("\n");
  const dot = Array.from({ length: n }, (_, c) => lanes.map((e) => `      dot = dot + q${c}${e && `.${e}`} * k${c}${e && `.${e}`};`).join("\n")).join("\n");
  const product = (k: number) => `      acc = acc + select(0.0, scores[j + ${k}u] * v${k}, scores[j + ${k}u] > 0.0);`;
  // sum_j p_j v_jd into acc, keys in ascending order, four values loaded before any is added
  const sumWeighted = (d: string) => `    let vo = ko + ${d};
    for (var j = 0u; j < end; j += 4u) {
      let v0 = values[j * ${W}u + vo];
${[1, 2, 3].map((k) => `      let v${k} = values[min(j + ${k}u, ${maxPositions - 1}u) * ${W}u + vo];`).join("\n")}
${[0, 1, 2, 3].map(product).join("\n")}
    }`;
  // a row that sees no key gets 0, not 0 / 0 (the runners refuse such a mask, as the CPU does; GpuModel does not check)
  const normalized = (acc: string) => `select(0.0, ${acc} / expSum, expSum > 0.0)`;
  const expSum = `    var total = 0.0;
    for (var j = 0u; j < end; j++) { total = total + scores[j]; }
    expSum = total;`;
  const prelude = `${STEP}
@group(0) @binding(1) var<storage, read> qkv: array<${type}>;
@group(0) @binding(2) var<storage, read> keys: array<${type}>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;       // [T, L] bits
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // [T, H*D]
var<workgroup> scores: array<f32, ${maxPositions + 4}>;
var<workgroup> red: array<f32, 128>;
var<workgroup> expSum: f32;
fn visible(i: u32, j: u32) -> bool {
  if (step.hasMask == 0u) { return j <= step.P + i; }
  let bit = i * step.L + j;
  return ((mask[bit / 32u] >> (bit % 32u)) & 1u) == 1u;
}
@compute @workgroup_size(128) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let i = wg.y;
  if (i >= step.T) { return; }
  let end = select(step.P + i + 1u, step.L, step.hasMask == 1u);`;
  const scores = `  // 1. scores, one thread per key, and their max
  let qo = (i * ${Q}u + h * ${D}u) / ${lanes.length}u;
  let ko = (h / ${H / Hkv}u) * ${D}u;
${loadQ}
  var mx = ${NEG_INF};
  for (var j = t; j < end; j += 128u) {
    if (visible(i, j)) {
      let kb = (j * ${W}u + ko) / ${lanes.length}u;
${loadK}
      var dot = 0.0;
${dot}
      let s = dot * ${f32(1 / Math.sqrt(D))};
      scores[j] = s;
      mx = max(mx, s);
    }
  }
  // 2. the max (a tree), then p_j = exp(s_j - max), exactly 0 where a key is invisible and past the end
  red[t] = mx;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let m = red[0];`;
  const weighted = `  for (var j = t; j < end + 4u; j += 128u) {
    var p = 0.0;
    if (j < end && visible(i, j)) { p = exp(scores[j] - m); }
    scores[j] = p;
  }
  workgroupBarrier();
  // 3. ${D < 128 ? "sum_j p_j v_j by threads d < D, four values loaded before any is added; sum_j p_j by thread 127" : "sum_j p_j by thread 0; then sum_j p_j v_j by a thread per output d, four values loaded before any is added"}
${D < 128 ? `  var acc = 0.0;
  if (t < ${D}u) {
${sumWeighted("t")}
  } else if (t == 127u) {
${expSum}
  }
  workgroupBarrier();
  if (t < ${D}u) { out[i * ${H * D}u + h * ${D}u + t] = ${normalized("acc")}; }` : `  if (t == 0u) {
${expSum}
  }
  workgroupBarrier();
  for (var d = t; d < ${D}u; d += 128u) {
    var acc = 0.0;
${sumWeighted("d")}
    out[i * ${H * D}u + h * ${D}u + d] = ${normalized("acc")};
  }`}`;
  return { prelude, scores, weighted };
}

// ---------------------------------------------------------------- SwiGLU

/**
 * `out[i, j] = silu(gu[i, j]) * gu[i, I + j]` with `silu(x) = x / (1 + e^-x)`; gu [T, 2I] → out [T, I].
 * One thread per output; grid x = ceil(I / 256), y = T.
 *
 * @example
 * ```ts
 * swigluSource(32).includes("gu[i * 64u + 32u + j]"); // true: the up half of gu [T, 2I] starts at column I = 32
 * ```
 * @category WebGPU
 */
export function swigluSource(I: number): string {
  return `${STEP}
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y;
  let j = g.x;
  if (i >= step.T || j >= ${I}u) { return; }
  let gate = gu[i * ${2 * I}u + j];
  out[i * ${I}u + j] = gate / (1.0 + exp(-gate)) * gu[i * ${2 * I}u + ${I}u + j];
}`;
}

// ---------------------------------------------------------------- argmax

/**
 * Index of the largest logit of each row, the lowest index winning ties; one 256-thread workgroup per row.
 *
 * @example
 * ```ts
 * argmaxSource(100).includes("@workgroup_size(256)"); // true: one 256-thread workgroup per row of 100 logits
 * ```
 * @category WebGPU
 */
export function argmaxSource(V: number): string {
  return `${STEP}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
var<workgroup> bestValue: array<f32, 256>;
var<workgroup> bestIndex: array<u32, 256>;
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  if (wg.x >= step.T) { return; }
  let o = wg.x * ${V}u;
  var bv = ${NEG_INF};
  var bi = min(t, ${V - 1}u);
  for (var v = t; v < ${V}u; v += 256u) {
    let x = logits[o + v];
    if (x > bv) { bv = x; bi = v; }                         // strictly greater: the first maximum stays
  }
  bestValue[t] = bv;
  bestIndex[t] = bi;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      let v = bestValue[t + s];
      let k = bestIndex[t + s];
      if (v > bestValue[t] || (v == bestValue[t] && k < bestIndex[t])) { bestValue[t] = v; bestIndex[t] = k; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { ids[wg.x] = bestIndex[0]; }
}`;
}
