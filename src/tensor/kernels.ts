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
 * What this file is not: a fast BLAS. It is the reference; faster kernels must agree with it bit for bit.
 *
 * Read next: `ops.ts`, which checks shapes and wraps these kernels as tensor operations.
 *
 * @module
 */

// ---------------------------------------------------------------- matrix products

/**
 * `out[i, n] = sum_k x[i, k] * w[n, k]` — a product with the right operand stored transposed, which is
 * how every Linear weight is stored (`[out, in]`, as in Hugging Face). Each output element is one
 * sequential dot product; four columns are computed side by side to share the loads of `x`.
 *
 * @param out - [M, N], overwritten
 * @param x - [M, K]
 * @param w - [N, K]
 * @example
 * ```ts
 * const out = new Float64Array(2);                                  // [M, N] = [1, 2]
 * matmulTransposedKernel(out, Float64Array.of(1, 2), Float64Array.of(3, 4, 5, 6), 1, 2, 2);
 * out; // [11, 17] = [1·3 + 2·4, 1·5 + 2·6]: w is [N, K], one dot product per output
 * ```
 * @category Kernels
 */
export function matmulTransposedKernel(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const xo = i * K;
    const oo = i * N;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < K; k++) {
        const xv = x[xo + k];
        a0 += xv * w[w0 + k];
        a1 += xv * w[w1 + k];
        a2 += xv * w[w2 + k];
        a3 += xv * w[w3 + k];
      }
      out[oo + n] = a0;
      out[oo + n + 1] = a1;
      out[oo + n + 2] = a2;
      out[oo + n + 3] = a3;
    }
    for (; n < N; n++) {
      const wo = n * K;
      let a = 0;
      for (let k = 0; k < K; k++) a += x[xo + k] * w[wo + k];
      out[oo + n] = a;
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
 * with `h = D/2`, `x1 = x[0..h)`, `x2 = x[h..D)` and `theta_j = pos / base^(2j/D)` (inverse frequencies in float64),
 * `out[j] = x1[j] cos(theta_j) - x2[j] sin(theta_j)` and `out[j+h] = x2[j] cos(theta_j) + x1[j] sin(theta_j)`.
 * The angle depends only on the row's own position, so a row's result never depends on the batch.
 *
 * @param out - [M, heads * D], overwritten (may alias `x`)
 * @param x - [M, heads * D]
 * @param positions - [M] the absolute position of each row
 * @param sign - +1 rotates forward; -1 rotates back (the transpose, used by the backward pass)
 * @example
 * ```ts
 * // position 0 is the identity rotation; position p turns pair (x1[j], x2[j]) by p / base^(2j/D)
 * const out = new Float64Array(4);
 * ropeKernel(out, Float64Array.of(1, 0, 0, 1), [0], 1, 1, 4, 10000, 1);   // sign -1: the inverse rotation (backward)
 * out; // [1, 0, 0, 1]
 * ```
 * @category Kernels
 */
export function ropeKernel(
  out: Float64Array, x: Float64Array, positions: ArrayLike<number>,
  M: number, heads: number, D: number, base: number, sign: 1 | -1,
): void {
  const half = D / 2;
  const width = heads * D;
  for (let i = 0; i < M; i++) {
    const pos = positions[i];
    for (let j = 0; j < half; j++) {
      const inverseFrequency = 1 / Math.pow(base, (2 * j) / D);
      const angle = pos * inverseFrequency;
      const c = Math.cos(angle);
      const s = sign * Math.sin(angle);
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
 * @example
 * ```ts
 * forward(config, params, tokens, { mask });   // an explicit visibility; without `mask`, causal after the cache
 * ```
 * @category Kernels
 */
export type Visibility = CausalVisibility | ExplicitVisibility;

/**
 * Causal attention after `offset` cached rows.
 *
 * @example
 * ```ts
 * const v: CausalVisibility = { kind: "causal", offset: 5 };   // 5 cached rows: query i sees keys 0 .. 5 + i
 * ```
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
 * @example
 * ```ts
 * const v: ExplicitVisibility = { kind: "explicit", visible: Uint8Array.from([1, 0, 1, 1]) };   // [T, L] = [2, 2]: causal, spelled out
 * ```
 * @category Kernels
 */
export interface ExplicitVisibility {
  /** Discriminant. */
  readonly kind: "explicit";
  /** Shape [M, L], 1 where query row i may attend to key j. */
  readonly visible: Uint8Array;
}

/**
 * Multi-head scaled dot-product attention with grouped-query heads. For query row `i` and head `h`
 * (key/value head `g = floor(h / (H / Hkv))`), over its visible keys `j` in ascending order:
 * `s_j = (q_i · k_j) / sqrt(D)`, `p = softmax(s)`, `out_i = sum_j p_j v_j`.
 * Attention is the only operation that mixes positions. Keys and values are read in place (from the
 * KV cache when there is one), never copied.
 *
 * @param out - [M, H * D], overwritten
 * @param probs - [M, H, L] scratch that receives the attention weights (0 for hidden keys); kept for backward
 * @param q - [M, H * D]
 * @param k - [L, Hkv * D]
 * @param v - [L, Hkv * D]
 * @example
 * ```ts
 * // one query (H = Hkv = 1, D = 1), two visible keys with equal scores: the mean of the two values
 * const out = new Float64Array(1), probs = new Float64Array(2);
 * attentionKernel(out, probs, Float64Array.of(1), Float64Array.of(1, 1), Float64Array.of(2, 4), 1, 2, 1, 1, 1, { kind: "causal", offset: 1 });
 * out; // [3]; probs [0.5, 0.5]
 * ```
 * @category Kernels
 */
export function attentionKernel(
  out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array,
  M: number, L: number, H: number, Hkv: number, D: number, visibility: Visibility,
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / Hkv;
  const qWidth = H * D;
  const kvWidth = Hkv * D;
  probs.fill(0, 0, M * H * L);
  for (let i = 0; i < M; i++) {
    const last = visibility.kind === "causal" ? Math.min(visibility.offset + i, L - 1) : L - 1;
    const mask = visibility.kind === "explicit" ? visibility.visible : null;
    for (let h = 0; h < H; h++) {
      const qo = i * qWidth + h * D;
      const ko = Math.floor(h / group) * D;
      const p = probs.subarray((i * H + h) * L, (i * H + h + 1) * L);
      // scores and their max, over visible keys only
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        if (mask !== null && mask[i * L + j] === 0) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * k[j * kvWidth + ko + d];
        const s = dot * scale;
        p[j] = s;
        if (s > max) max = s;
      }
      // softmax (subtract the max so exp cannot overflow), then the weighted sum of values
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        if (mask !== null && mask[i * L + j] === 0) continue;
        const e = Math.exp(p[j] - max);
        p[j] = e;
        sum += e;
      }
      const oo = i * qWidth + h * D;
      for (let d = 0; d < D; d++) out[oo + d] = 0;
      for (let j = 0; j <= last; j++) {
        if (mask !== null && mask[i * L + j] === 0) continue;
        const w = p[j] / sum;
        p[j] = w;
        const vo = j * kvWidth + ko;
        for (let d = 0; d < D; d++) out[oo + d] += w * v[vo + d];
      }
    }
  }
}
