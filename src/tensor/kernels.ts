/**
 * The CPU kernels: plain loops over Float64Arrays that every tensor operation runs on.
 *
 * **Batch invariance, the one rule of this file.** Each output element is computed by the same
 * floating-point operations in the same order whatever the number of rows in the call, and whether the
 * keys come from a cache or from this call. A dot product always runs `k = 0, 1, ..., K-1` into one
 * accumulator that starts at 0; an attention row always visits its visible keys in ascending order.
 * Loops may be unrolled across *different* output elements (that shares loads and changes nothing), never
 * across the reduction of one element (that would reassociate the sum). Consequence: the logits of a
 * token are bit-identical whether it was forwarded alone, inside a 64-token Jacobi block, or in a full
 * recompute — which is what lets the decoders be tested for *exact* equality with AR greedy.
 *
 * What this file is not: a BLAS. The matrix product is register-tiled (it is where almost all the time
 * goes) and attention computes several keys per pass, but only in ways that keep each element's
 * arithmetic unchanged, and each is checked bit for bit against the plain reference loop kept beside it
 * (`matmulTransposedReference`, `attentionReference`).
 *
 * Read next: `ops.ts`, which checks shapes and wraps these kernels as tensor operations.
 *
 * @module
 */

// ---------------------------------------------------------------- matrix products

/**
 * `out[i, n] = sum_k x[i, k] * w[n, k]` — a product with the right operand stored transposed, which is
 * how every Linear weight is stored (`[out, in]`, as in Hugging Face). The fast kernel every `linear`
 * runs: rows are taken three at a time (a 3 x 4 register tile: each load of four weight values serves
 * three rows, each load of an `x` value serves four columns), and a lone row gets eight columns at a time.
 * Each output element is still ONE accumulator that starts at 0 and adds `x[i, k] * w[n, k]` for
 * `k = 0 .. K-1` in order — the tiles only interleave *different* elements — so the result is bit-identical
 * to {@link matmulTransposedReference} whatever M, which rows share a tile, or how many threads split N:
 * a thread computes its own columns `n0 .. n1-1` (every row), and an element's arithmetic does not depend
 * on the range it falls in.
 *
 * Why these tile sizes: V8 emits scalar float64 code and x86-64 has 16 vector registers. 3 x 4 = 12
 * accumulators plus four weights fit; 4 x 4 spills and is slower. A single token (AR decoding) has no
 * second row to share the weight loads with, so it is load-bound; eight independent accumulators hide
 * the add latency. The measurements behind these choices are in docs/performance.md, with their run.
 *
 * @param out - [M, N], columns n0 .. n1-1 overwritten
 * @param x - [M, K]
 * @param w - [N, K]
 * @param n0 - first column to compute (default 0)
 * @param n1 - end of the columns to compute (default N)
 * @example
 * ```ts
 * const out = new Float64Array(2), x = Float64Array.of(1, 2), w = Float64Array.of(1, 0, 1, 1);
 * matmulTransposedKernel(out, x, w, 1, 2, 2);                // out = [1, 3]
 * matmulTransposedKernel(out.fill(0), x, w, 1, 2, 2, 1, 2);  // column 1 only: out = [0, 3]
 * ```
 * @category Kernels
 */
export function matmulTransposedKernel(
  out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number, n0 = 0, n1 = N,
): void {
  let i = 0;
  for (; i + 3 <= M; i += 3) threeRows(out, x, w, i, K, N, n0, n1);
  for (; i < M; i++) oneRow(out, x, w, i, K, N, n0, n1);
}

/** Rows i, i+1, i+2 of columns n0 .. n1-1: a 3 x 4 register tile, then each row's last columns by {@link oneRow}. */
function threeRows(out: Float64Array, x: Float64Array, w: Float64Array, i: number, K: number, N: number, n0: number, n1: number): void {
  const x0 = i * K, x1 = x0 + K, x2 = x1 + K;
  const o0 = i * N, o1 = o0 + N, o2 = o1 + N;
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
    let a00 = 0, a01 = 0, a02 = 0, a03 = 0;
    let a10 = 0, a11 = 0, a12 = 0, a13 = 0;
    let a20 = 0, a21 = 0, a22 = 0, a23 = 0;
    for (let k = 0; k < K; k++) {
      const b0 = w[w0 + k], b1 = w[w1 + k], b2 = w[w2 + k], b3 = w[w3 + k];
      let u = x[x0 + k];
      a00 += u * b0; a01 += u * b1; a02 += u * b2; a03 += u * b3;
      u = x[x1 + k];
      a10 += u * b0; a11 += u * b1; a12 += u * b2; a13 += u * b3;
      u = x[x2 + k];
      a20 += u * b0; a21 += u * b1; a22 += u * b2; a23 += u * b3;
    }
    out[o0 + n] = a00; out[o0 + n + 1] = a01; out[o0 + n + 2] = a02; out[o0 + n + 3] = a03;
    out[o1 + n] = a10; out[o1 + n + 1] = a11; out[o1 + n + 2] = a12; out[o1 + n + 3] = a13;
    out[o2 + n] = a20; out[o2 + n + 1] = a21; out[o2 + n + 2] = a22; out[o2 + n + 3] = a23;
  }
  for (let r = i; r < i + 3; r++) oneRow(out, x, w, r, K, N, n, n1);
}

/** Row i of columns n0 .. n1-1: eight columns at a time, then single remaining columns. */
function oneRow(out: Float64Array, x: Float64Array, w: Float64Array, i: number, K: number, N: number, n0: number, n1: number): void {
  const xo = i * K, oo = i * N;
  let n = n0;
  for (; n + 8 <= n1; n += 8) {
    const w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K, w4 = w3 + K, w5 = w4 + K, w6 = w5 + K, w7 = w6 + K;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let k = 0; k < K; k++) {
      const u = x[xo + k];
      a0 += u * w[w0 + k]; a1 += u * w[w1 + k]; a2 += u * w[w2 + k]; a3 += u * w[w3 + k];
      a4 += u * w[w4 + k]; a5 += u * w[w5 + k]; a6 += u * w[w6 + k]; a7 += u * w[w7 + k];
    }
    out[oo + n] = a0; out[oo + n + 1] = a1; out[oo + n + 2] = a2; out[oo + n + 3] = a3;
    out[oo + n + 4] = a4; out[oo + n + 5] = a5; out[oo + n + 6] = a6; out[oo + n + 7] = a7;
  }
  for (; n < n1; n++) {
    const wo = n * K;
    let a = 0;
    for (let k = 0; k < K; k++) a += x[xo + k] * w[wo + k];
    out[oo + n] = a;
  }
}

/**
 * The reference for {@link matmulTransposedKernel}: one output element at a time, one plain dot product
 * each. Slow and obviously right; the fast kernel must agree with it bit for bit (spec/kernels.spec.ts),
 * and `npm run bench` times both side by side.
 *
 * @param out - [M, N], overwritten
 * @param x - [M, K]
 * @param w - [N, K]
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * matmulTransposedReference(out, Float64Array.of(1, 2), Float64Array.of(1, 0, 1, 1), 1, 2, 2); // out = [1, 3]
 * ```
 * @category Kernels
 */
export function matmulTransposedReference(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let a = 0;
      for (let k = 0; k < K; k++) a += x[i * K + k] * w[n * K + k];
      out[i * N + n] = a;
    }
  }
}

/**
 * `out[i, j] = sum_k a[i, k] * b[k, j]` — the ordinary product. The loop runs `i, k, j` so that the
 * inner loop is contiguous; each `out[i, j]` still accumulates `k = 0 .. K-1` in order from 0.
 *
 * @param out - [M, N], overwritten
 * @param a - [M, K]
 * @param b - [K, N]
 * @example
 * ```ts
 * const out = new Float64Array(2);                                  // [M, N] = [1, 2]
 * matmulKernel(out, Float64Array.of(1, 2), Float64Array.of(3, 4, 5, 6), 1, 2, 2);
 * out; // [13, 16] = [1·3 + 2·5, 1·4 + 2·6]: b is [K, N]
 * ```
 * @category Kernels
 */
export function matmulKernel(out: Float64Array, a: Float64Array, b: Float64Array, M: number, K: number, N: number): void {
  out.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    const oo = i * N;
    for (let k = 0; k < K; k++) {
      const av = a[i * K + k];
      const bo = k * N;
      for (let j = 0; j < N; j++) out[oo + j] += av * b[bo + j];
    }
  }
}

// ---------------------------------------------------------------- row-wise operations

/**
 * RMSNorm of each row: `out = x / sqrt(mean(x^2) + eps) * weight` (Llama's normalisation: no mean
 * subtraction, no bias). The sum of squares runs left to right.
 *
 * @param out - [M, C], overwritten (may alias `x`)
 * @param x - [M, C]
 * @param weight - [C]
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * rmsNormKernel(out, Float64Array.of(3, 4), Float64Array.of(1, 1), 1, 2, 0);
 * out; // [0.8485, 1.1314] = [3, 4] / sqrt((9 + 16) / 2)
 * ```
 * @category Kernels
 */
export function rmsNormKernel(out: Float64Array, x: Float64Array, weight: Float64Array, M: number, C: number, eps: number): void {
  for (let i = 0; i < M; i++) {
    const o = i * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * inv * weight[c];
  }
}

/**
 * Softmax of each row. Subtract the row max before `exp` so that no term overflows; the result is the
 * same function, since softmax is invariant to adding a constant to a row.
 *
 * @param out - [M, N], overwritten (may alias `x`)
 * @param x - [M, N]
 * @example
 * ```ts
 * const out = new Float64Array(3);
 * softmaxKernel(out, Float64Array.of(0, 0, Math.log(2)), 1, 3);
 * out; // [0.25, 0.25, 0.5]
 * ```
 * @category Kernels
 */
export function softmaxKernel(out: Float64Array, x: Float64Array, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const o = i * N;
    let max = -Infinity;
    for (let j = 0; j < N; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < N; j++) {
      const e = Math.exp(x[o + j] - max);
      out[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < N; j++) out[o + j] /= sum;
  }
}

/**
 * Index of the largest value of each row; the LOWEST index wins a tie (the first maximum is kept,
 * as in llama2.c). One rule for every decoder, so all of them break ties the same way.
 *
 * @param out - [M], overwritten
 * @param x - [M, N]
 * @example
 * ```ts
 * const out = new Int32Array(1);
 * argmaxKernel(out, Float64Array.of(1, 3, 3, 0), 1, 4);
 * out; // [1]: a tie between ids 1 and 2, the lowest wins
 * ```
 * @category Kernels
 */
export function argmaxKernel(out: Int32Array, x: Float64Array, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const o = i * N;
    let best = 0;
    let bestValue = x[o];
    for (let j = 1; j < N; j++) {
      if (x[o + j] > bestValue) {
        bestValue = x[o + j];
        best = j;
      }
    }
    out[i] = best;
  }
}

// ---------------------------------------------------------------- rotary position embedding

/**
 * Rotary position embedding, Hugging Face "rotate half" convention, applied to every head of every row:
 * with `h = D/2`, `x1 = x[0..h)`, `x2 = x[h..D)` and `theta_j = pos * inverse[j]` (in float64), scaled by `scale`,
 * `out[j] = x1[j] cos(theta_j) - x2[j] sin(theta_j)` and `out[j+h] = x2[j] cos(theta_j) + x1[j] sin(theta_j)`.
 * The angle depends only on the row's own position, so a row's result never depends on the batch.
 *
 * @param out - [M, heads * D], overwritten (may alias `x`)
 * @param x - [M, heads * D]
 * @param positions - [M] the absolute position of each row
 * @param sign - +1 rotates forward; -1 rotates back (the transpose, used by the backward pass)
 * @example
 * ```ts
 * // position 0 is the identity rotation; position p turns pair (x1[j], x2[j]) by p * inverse[j]
 * const out = new Float64Array(4);
 * ropeKernel(out, Float64Array.of(1, 0, 0, 1), [0], 1, 1, 4, [1, 0.01], 1, 1);   // sign -1: the inverse rotation (backward)
 * out; // [1, 0, 0, 1]
 * ```
 * @category Kernels
 */
export function ropeKernel(
  out: Float64Array, x: Float64Array, positions: ArrayLike<number>,
  M: number, heads: number, D: number, inverse: ArrayLike<number>, scale: number, sign: 1 | -1,
): void {
  const half = D / 2;
  const width = heads * D;
  for (let i = 0; i < M; i++) {
    const pos = positions[i];
    for (let j = 0; j < half; j++) {
      const angle = pos * inverse[j];
      const c = scale * Math.cos(angle);
      const s = sign * scale * Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const o = i * width + h * D;
        const x1 = x[o + j];
        const x2 = x[o + j + half];
        out[o + j] = x1 * c - x2 * s;
        out[o + j + half] = x2 * c + x1 * s;
      }
    }
  }
}

// ---------------------------------------------------------------- attention

/**
 * Which keys each query row may attend to.
 * - `causal`: query row `i` sees keys `0 .. offset + i` (offset = number of cached rows before this call).
 * - `explicit`: `visible[i * L + j] = 1` when query `i` may attend to key `j` (L = number of keys) —
 *   used for packed training sequences and for verifying several candidate drafts in one forward.
 *
 * @category Kernels
 */
export type Visibility = CausalVisibility | ExplicitVisibility;

/**
 * Causal attention after `offset` cached rows.
 *
 * @category Kernels
 */
export interface CausalVisibility {
  /** Discriminant. */
  readonly kind: "causal";
  /** Rows already in the cache: query row i sees keys 0 .. offset + i. */
  readonly offset: number;
}

/**
 * Attention through an explicit mask.
 *
 * @category Kernels
 */
export interface ExplicitVisibility {
  /** Discriminant. */
  readonly kind: "explicit";
  /** Shape [M, L], 1 where query row i may attend to key j. */
  readonly visible: Uint8Array;
}

/**
 * Head layout of an attention call: H query heads of size D, sharing Hkv key/value heads
 * (grouped-query attention: query head h reads key/value head `floor(h / (H / Hkv))`).
 *
 * @category Kernels
 */
export interface AttentionShape {
  /** H, query heads. */
  readonly numHeads: number;
  /** Hkv, key/value heads; divides H (grouped-query attention). */
  readonly numKeyValueHeads: number;
  /** D, size of one head. */
  readonly headDim: number;
}

/**
 * Multi-head scaled dot-product attention with grouped-query heads. For query row `i` and head `h`
 * (key/value head `g = floor(h / (H / Hkv))`), over its visible keys `j` in ascending order:
 * `s_j = (q_i · k_j) / sqrt(D)`, `p = softmax(s)`, `out_i = sum_j p_j v_j`.
 * Attention is the only operation that mixes positions. Keys and values are read in place (from the
 * KV cache when there is one), never copied. Bit-identical to {@link attentionReference}.
 *
 * A kernel thread computes only the (query row, head) pairs `p0 .. p1-1`, pair `p = i H + h`. A pair's
 * result does not depend on which other pairs are computed, or by which thread, so any split gives the
 * same bits as the whole.
 *
 * @param out - [M, H * D], the rows of pairs p0 .. p1-1 overwritten
 * @param probs - [M, H, L] scratch that receives the attention weights (0 for hidden keys) of pairs
 *   p0 .. p1-1; kept for backward
 * @param q - [M, H * D]
 * @param k - [L, Hkv * D]
 * @param v - [L, Hkv * D]
 * @param M - query rows
 * @param L - keys
 * @param p0 - first pair to compute (default 0)
 * @param p1 - end of the pairs to compute (default M H, all of them)
 * @example
 * ```ts
 * // one query (H = Hkv = 1, D = 1), two visible keys with equal scores: the mean of the two values
 * const out = new Float64Array(1), probs = new Float64Array(2);
 * const shape = { numHeads: 1, numKeyValueHeads: 1, headDim: 1 };
 * attentionKernel(out, probs, Float64Array.of(1), Float64Array.of(1, 1), Float64Array.of(2, 4), 1, 2, shape, { kind: "causal", offset: 1 });
 * out; // [3]; probs [0.5, 0.5]
 * // two query rows, H = 2: four pairs, split in two halves
 * attentionKernel(out, probs, q, k, v, 2, L, shape, visibility, 0, 2); // pairs (0, h0), (0, h1): query row 0
 * attentionKernel(out, probs, q, k, v, 2, L, shape, visibility, 2, 4); // pairs (1, h0), (1, h1): query row 1
 * ```
 * @category Kernels
 */
export function attentionKernel(
  out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
  M: number, L: number, shape: AttentionShape, visibility: Visibility, p0 = 0, p1 = M * shape.numHeads,
): void {
  const { numHeads: H, numKeyValueHeads: Hkv, headDim: D } = shape;
  const scale = 1 / Math.sqrt(D);
  const group = H / Hkv;
  const qWidth = H * D;
  const kvWidth = Hkv * D;
  const mask = visibility.kind === "explicit" ? visibility.visible : null;
  const visible = new Int32Array(L); // the visible keys of the current row, ascending
  probs.fill(0, p0 * L, p1 * L);
  let count = 0;
  let row = -1;
  for (let p = p0; p < p1; p++) {
    const i = Math.floor(p / H);
    const h = p - i * H;
    if (i !== row) {
      row = i;
      count = 0;
      const last = visibility.kind === "causal" ? Math.min(visibility.offset + i, L - 1) : L - 1;
      for (let j = 0; j <= last; j++) if (mask === null || mask[i * L + j] !== 0) visible[count++] = j;
    }
    const qo = i * qWidth + h * D;
    const ko = Math.floor(h / group) * D;
    const po = (i * H + h) * L;
    // Scores of four keys side by side (four accumulators sharing the loads of q); each is still one
    // dot product over d = 0 .. D-1 from 0, so the bits do not depend on which keys share a pass.
    let t = 0;
    for (; t + 4 <= count; t += 4) {
      const k0 = visible[t] * kvWidth + ko, k1 = visible[t + 1] * kvWidth + ko;
      const k2 = visible[t + 2] * kvWidth + ko, k3 = visible[t + 3] * kvWidth + ko;
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      for (let d = 0; d < D; d++) {
        const u = q[qo + d];
        d0 += u * k[k0 + d]; d1 += u * k[k1 + d]; d2 += u * k[k2 + d]; d3 += u * k[k3 + d];
      }
      probs[po + visible[t]] = d0 * scale; probs[po + visible[t + 1]] = d1 * scale;
      probs[po + visible[t + 2]] = d2 * scale; probs[po + visible[t + 3]] = d3 * scale;
    }
    for (; t < count; t++) {
      const ko0 = visible[t] * kvWidth + ko;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko0 + d];
      probs[po + visible[t]] = dot * scale;
    }
    // softmax over the visible keys in ascending order (subtract the max so exp cannot overflow)
    let max = -Infinity;
    for (let t2 = 0; t2 < count; t2++) if (probs[po + visible[t2]] > max) max = probs[po + visible[t2]];
    let sum = 0;
    for (let t2 = 0; t2 < count; t2++) {
      const e = Math.exp(probs[po + visible[t2]] - max);
      probs[po + visible[t2]] = e;
      sum += e;
    }
    // out = sum_j p_j v_j, keys in ascending order; two keys per pass over d, added one after the other
    for (let d = 0; d < D; d++) out[qo + d] = 0;
    let t3 = 0;
    for (; t3 + 2 <= count; t3 += 2) {
      const j0 = visible[t3], j1 = visible[t3 + 1];
      const w0 = probs[po + j0] / sum, w1 = probs[po + j1] / sum;
      probs[po + j0] = w0;
      probs[po + j1] = w1;
      const v0 = j0 * kvWidth + ko, v1 = j1 * kvWidth + ko;
      for (let d = 0; d < D; d++) out[qo + d] = out[qo + d] + w0 * v[v0 + d] + w1 * v[v1 + d];
    }
    for (; t3 < count; t3++) {
      const j0 = visible[t3];
      const w0 = probs[po + j0] / sum;
      probs[po + j0] = w0;
      const v0 = j0 * kvWidth + ko;
      for (let d = 0; d < D; d++) out[qo + d] += w0 * v[v0 + d];
    }
  }
}

/**
 * The reference for {@link attentionKernel}: one (query row, head) pair at a time, every key `j = 0 ..
 * L-1` in turn, hidden keys skipped. Slow and obviously right; the fast kernel must agree with it bit
 * for bit (spec/kernels.spec.ts).
 *
 * Bit-identical needs one order of operations, and it is the plainest one, which the fast kernel keeps:
 * each score is one dot product over `d = 0 .. D-1` from 0, then multiplied by `1 / sqrt(D)` (the
 * reciprocal computed once, as the fast kernel does: dividing by `sqrt(D)` rounds differently); the
 * max, the sum of the exps and each output element run over the visible keys in ascending order, from 0;
 * and each weight is `e_j / sum`, a division (multiplying by `1 / sum` would round differently). The fast
 * kernel's passes over four keys' scores and two keys' values change none of this: they interleave
 * different sums, and add two keys' terms to an output one after the other.
 *
 * @param out - [M, H * D], overwritten
 * @param probs - [M, H, L], overwritten with the attention weights (0 for hidden keys)
 * @param q - [M, H * D]
 * @param k - [L, Hkv * D]
 * @param v - [L, Hkv * D]
 * @param M - query rows
 * @param L - keys
 * @example
 * ```ts
 * const out = new Float64Array(1), probs = new Float64Array(2);
 * const shape = { numHeads: 1, numKeyValueHeads: 1, headDim: 1 };
 * attentionReference(out, probs, Float64Array.of(1), Float64Array.of(1, 1), Float64Array.of(2, 4), 1, 2, shape, { kind: "causal", offset: 1 });
 * out; // [3]; probs [0.5, 0.5], as attentionKernel
 * ```
 * @category Kernels
 */
export function attentionReference(
  out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
  M: number, L: number, shape: AttentionShape, visibility: Visibility,
): void {
  const { numHeads: H, numKeyValueHeads: Hkv, headDim: D } = shape;
  const scale = 1 / Math.sqrt(D);
  const sees = (i: number, j: number): boolean =>
    visibility.kind === "causal" ? j <= visibility.offset + i : visibility.visible[i * L + j] !== 0;
  for (let i = 0; i < M; i++) {
    for (let h = 0; h < H; h++) {
      const qo = (i * H + h) * D;                                       // q[i, h, :]
      const g = Math.floor(h / (H / Hkv));                              // the key/value head h reads
      const kv = (j: number) => (j * Hkv + g) * D;                      // k[j, g, :] and v[j, g, :]
      const p = probs.subarray((i * H + h) * L, (i * H + h + 1) * L);   // [L]: scores, then weights
      // scores s_j = (q · k_j) / sqrt(D), and their max
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        p[j] = 0;
        if (!sees(i, j)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * k[kv(j) + d];
        p[j] = dot * scale;
        if (p[j] > max) max = p[j];
      }
      // softmax: p_j = exp(s_j - max) / sum
      let sum = 0;
      for (let j = 0; j < L; j++) {
        if (!sees(i, j)) continue;
        p[j] = Math.exp(p[j] - max);
        sum += p[j];
      }
      for (let j = 0; j < L; j++) if (sees(i, j)) p[j] = p[j] / sum;
      // out = sum_j p_j v_j
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < L; j++) if (sees(i, j)) acc += p[j] * v[kv(j) + d];
        out[qo + d] = acc;
      }
    }
  }
}
