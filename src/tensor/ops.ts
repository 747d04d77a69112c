/**
 * Tensor operations: shape-checked wrappers around the batch-invariant kernels of `kernels.ts`.
 *
 * Only the operations a Llama-family transformer needs: `linear` (the matmul with an `[out, in]`
 * weight), `matmul`, elementwise `add`/`mul`, `rmsNorm`, `softmax`, `silu`, `embedding` (row gather),
 * `rope`, `attention` over cached + new rows, `scale`, and `argmax`. Every one checks its inputs and names
 * itself and the offending shapes when they are wrong.
 *
 * Every differentiable operation ends with `track(out, inputs, (g) => ...)`: the closure right under the
 * forward is its backward, given `g` = d(loss)/d(out) and adding d(loss)/d(input) into each input that
 * needs one (see `autograd.ts`). The backward loops are plain reference loops; only the forwards must be
 * batch-invariant, and they are untouched by autograd (constants in, no graph, no extra work).
 *
 * Shape legend: `M` rows (tokens), `K` reduction width, `N` output width, `C` model width,
 * `H` / `Hkv` query / key-value heads, `D` head size, `L` keys visible to attention (cache + new).
 *
 * Read next: `src/model/transformer.ts`, which composes these into the forward pass.
 *
 * @module
 */
import {
  argmaxKernel, matmulKernel, rmsNormKernel, ropeKernel, softmaxKernel, type AttentionShape, type Visibility,
} from "./kernels.ts";
import { attentionShared, matmulTransposedShared, siluShared, type KernelThreads } from "./threads.ts";
import { gradOf, needsGrad, track } from "./autograd.ts";
import { ShapeError, Tensor, formatShape } from "./tensor.ts";

// ---------------------------------------------------------------- checks

/** The shapes of `tensors`, each checked to be a matrix: `const [[M, K], [N, K2]] = matrices("linear", { x, weight })`. */
function matrices(op: string, tensors: Record<string, Tensor>): (readonly number[])[] {
  return Object.entries(tensors).map(([name, t]) => {
    if (t.shape.length !== 2) throw new ShapeError(`${op}: expected ${name} of rank 2, got ${formatShape(t.shape)}`);
    return t.shape;
  });
}

function expectSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${op}: expected equal shapes, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
}

// ---------------------------------------------------------------- matrix products

/**
 * `y = x W^T (+ b)`: a Linear layer with the weight stored `[out, in]` as in Hugging Face.
 *
 * @param x - [M, K]
 * @param weight - [N, K]; in the shared memory of `threads` when they are given
 * @param bias - [N], optional
 * @param threads - kernel threads to split the output columns over (same bits; see `threads.ts`)
 * @returns [M, N]
 * @example
 * ```ts
 * linear(Tensor.from([1, 2], [1, 2]), Tensor.from([1, 0, 1, 1], [2, 2])).data; // [1, 3]
 * ```
 * @category Operations
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor, threads?: KernelThreads): Tensor {
  const [[M, K], [N, K2]] = matrices("linear", { x, weight });
  if (K !== K2) {
    throw new ShapeError(`linear: expected x [M, K] and weight [N, K], got ${formatShape(x.shape)} and ${formatShape(weight.shape)}`);
  }
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== N)) {
    throw new ShapeError(`linear: expected bias [${N}], got ${formatShape(bias.shape)}`);
  }
  if (threads !== undefined && !threads.holds(weight.data)) {
    throw new Error(`linear: the weight ${formatShape(weight.shape)} is not in the kernel threads' shared memory; pass the params startKernelThreads returned with its pool`);
  }
  const out = Tensor.zeros([M, N]);
  matmulTransposedShared(out.data, x.data, weight.data, M, K, N, threads);
  if (bias !== undefined) {
    for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) out.data[i * N + n] += bias.data[n];
  }
  return track(out, bias ? [x, weight, bias] : [x, weight], (g) => {
    // dx = g W   [M, K];   dW += g^T x   [N, K];   db += sum over rows of g   [N]
    if (needsGrad(x)) {
      const dx = gradOf(x);
      for (let i = 0; i < M; i++) addRowCombination(dx, i * K, weight.data, K, N, g, i * N, 1);   // dx[i] += sum_n g[i, n] W[n]
    }
    if (needsGrad(weight)) {
      const dw = gradOf(weight);
      for (let n = 0; n < N; n++) addRowCombination(dw, n * K, x.data, K, M, g, n, N);            // dW[n] += sum_i g[i, n] x[i]
    }
    if (bias !== undefined && needsGrad(bias)) {
      const db = gradOf(bias);
      for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) db[n] += g[i * N + n];
    }
  });
}

/**
 * `dst[d0 + k] += sum_s c_s src[s, k]` for k = 0 .. K-1, with `c_s = g[g0 + s gStride]`, s = 0 .. S-1:
 * `linear`'s backward. Four source rows are combined per pass over K, so each destination row is read
 * and written a quarter as often; the sums' order does not matter here.
 */
function addRowCombination(
  dst: Float64Array, d0: number, src: Float64Array, K: number, S: number, g: Float64Array, g0: number, gStride: number,
): void {
  let s = 0;
  for (; s + 4 <= S; s += 4) {
    const c0 = g[g0 + s * gStride], c1 = g[g0 + (s + 1) * gStride], c2 = g[g0 + (s + 2) * gStride], c3 = g[g0 + (s + 3) * gStride];
    const r0 = s * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
    for (let k = 0; k < K; k++) dst[d0 + k] += c0 * src[r0 + k] + c1 * src[r1 + k] + c2 * src[r2 + k] + c3 * src[r3 + k];
  }
  for (; s < S; s++) {
    const c = g[g0 + s * gStride], r = s * K;
    for (let k = 0; k < K; k++) dst[d0 + k] += c * src[r + k];
  }
}

/**
 * The ordinary matrix product `a b`.
 *
 * @param a - [M, K]
 * @param b - [K, N]
 * @returns [M, N]
 * @example
 * ```ts
 * matmul(Tensor.from([1, 2], [1, 2]), Tensor.from([3, 4], [2, 1])).data; // [11]
 * ```
 * @category Operations
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [[M, K], [K2, N]] = matrices("matmul", { a, b });
  if (K !== K2) {
    throw new ShapeError(`matmul: expected a [M, K] and b [K, N], got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const out = Tensor.zeros([M, N]);
  matmulKernel(out.data, a.data, b.data, M, K, N);
  return track(out, [a, b], (g) => {
    // da = g b^T   [M, K];   db = a^T g   [K, N]
    const ad = a.data, bd = b.data;
    const da = needsGrad(a) ? gradOf(a) : null;
    const db = needsGrad(b) ? gradOf(b) : null;
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        let acc = 0;
        const av = ad[i * K + k];
        for (let j = 0; j < N; j++) {
          const gv = g[i * N + j];
          acc += gv * bd[k * N + j];
          if (db !== null) db[k * N + j] += av * gv;
        }
        if (da !== null) da[i * K + k] += acc;
      }
    }
  });
}

// ---------------------------------------------------------------- elementwise

/**
 * Elementwise sum of two tensors of the same shape (the residual connection).
 *
 * @example
 * ```ts
 * add(Tensor.from([1, 2], [2]), Tensor.from([10, 20], [2])).data; // [11, 22]
 * ```
 * @category Operations
 */
export function add(a: Tensor, b: Tensor): Tensor {
  expectSameShape("add", a, b);
  const out = Tensor.zeros(a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i] + b.data[i];
  return track(out, [a, b], (g) => {
    // d(a + b)/da = d(a + b)/db = 1
    if (needsGrad(a)) { const da = gradOf(a); for (let i = 0; i < g.length; i++) da[i] += g[i]; }
    if (needsGrad(b)) { const db = gradOf(b); for (let i = 0; i < g.length; i++) db[i] += g[i]; }
  });
}

/**
 * Elementwise product of two tensors of the same shape (the gate of SwiGLU).
 *
 * @example
 * ```ts
 * mul(Tensor.from([1, 2], [2]), Tensor.from([10, 20], [2])).data; // [10, 40]
 * ```
 * @category Operations
 */
export function mul(a: Tensor, b: Tensor): Tensor {
  expectSameShape("mul", a, b);
  const out = Tensor.zeros(a.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = a.data[i] * b.data[i];
  return track(out, [a, b], (g) => {
    // d(a b)/da = b, d(a b)/db = a
    if (needsGrad(a)) { const da = gradOf(a); for (let i = 0; i < g.length; i++) da[i] += g[i] * b.data[i]; }
    if (needsGrad(b)) { const db = gradOf(b); for (let i = 0; i < g.length; i++) db[i] += g[i] * a.data[i]; }
  });
}

/**
 * Multiplies every element by the constant `c` (loss weights, e.g. `w_AR * L_AR`).
 *
 * @example
 * ```ts
 * scale(Tensor.from([1, 2], [2]), 10).data; // [10, 20]
 * ```
 * @category Operations
 */
export function scale(x: Tensor, c: number): Tensor {
  const out = Tensor.zeros(x.shape);
  for (let i = 0; i < out.size; i++) out.data[i] = x.data[i] * c;
  return track(out, [x], (g) => {
    const dx = gradOf(x);
    for (let i = 0; i < g.length; i++) dx[i] += g[i] * c;
  });
}

/**
 * SiLU (swish): `silu(x) = x * sigmoid(x) = x / (1 + e^-x)`.
 *
 * @param threads - kernel threads to split the elements over (same bits; see `threads.ts`)
 * @example
 * ```ts
 * silu(Tensor.from([0, 1], [2])).data; // [0, 0.7310585786300049]
 * ```
 * @category Operations
 */
export function silu(x: Tensor, threads?: KernelThreads): Tensor {
  const out = Tensor.zeros(x.shape);
  siluShared(out.data, x.data, out.size, threads);
  return track(out, [x], (g) => {
    // with s = sigmoid(x): silu'(x) = s + x s (1 - s) = s (1 + x (1 - s))
    const dx = gradOf(x);
    for (let i = 0; i < g.length; i++) {
      const v = x.data[i];
      const s = 1 / (1 + Math.exp(-v));
      dx[i] += g[i] * s * (1 + v * (1 - s));
    }
  });
}

// ---------------------------------------------------------------- row-wise

/**
 * RMSNorm of each row: `x / sqrt(mean(x^2) + eps) * weight`. A weight shorter than the row normalises
 * each of the row's consecutive groups of its length on its own (Qwen3's norm of each query and key head).
 *
 * @param x - [R, C], or [R, k * C] for k groups
 * @param weight - [C]
 * @returns the shape of x
 * @example
 * ```ts
 * rmsNorm(Tensor.from([3, 4], [1, 2]), Tensor.from([1, 1], [2]), 0).data;       // [0.8485..., 1.1313...]
 * rmsNorm(Tensor.from([3, 4, 0, 2], [1, 4]), Tensor.from([1, 1], [2]), 0).data; // [0.8485..., 1.1313..., 0, 1.4142...]
 * ```
 * @category Operations
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const [[R, W]] = matrices("rmsNorm", { x });
  const C = weight.shape[0];
  if (weight.shape.length !== 1 || W % C !== 0) {
    throw new ShapeError(`rmsNorm: expected x [M, C] (or [M, k * C]) and weight [C], got ${formatShape(x.shape)} and ${formatShape(weight.shape)}`);
  }
  const M = (R * W) / C;
  const out = Tensor.zeros([R, W]);
  rmsNormKernel(out.data, x.data, weight.data, M, C, eps);
  return track(out, [x, weight], (g) => {
    // y_c = x_c r w_c with r = (mean(x^2) + eps)^(-1/2), so dr/dx_c = -r^3 x_c / C and
    // dx_c = r w_c g_c - x_c r^3 / C * sum_k g_k w_k x_k ;  dw_c = sum over rows of g_c x_c r
    const xd = x.data, wd = weight.data;
    const dx = needsGrad(x) ? gradOf(x) : null;
    const dw = needsGrad(weight) ? gradOf(weight) : null;
    for (let i = 0; i < M; i++) {
      const o = i * C;
      let ss = 0;
      for (let c = 0; c < C; c++) ss += xd[o + c] * xd[o + c];
      const r = 1 / Math.sqrt(ss / C + eps);
      if (dw !== null) for (let c = 0; c < C; c++) dw[c] += g[o + c] * xd[o + c] * r;
      if (dx !== null) {
        let dot = 0;
        for (let c = 0; c < C; c++) dot += g[o + c] * wd[c] * xd[o + c];
        const k = (r * r * r * dot) / C;
        for (let c = 0; c < C; c++) dx[o + c] += r * wd[c] * g[o + c] - xd[o + c] * k;
      }
    }
  });
}

/**
 * Softmax of each row (the row max is subtracted before `exp`).
 *
 * @param x - [M, N]
 * @returns [M, N], each row summing to 1
 * @example
 * ```ts
 * softmax(Tensor.from([0, Math.log(3)], [1, 2])).data; // [0.25, 0.75]
 * ```
 * @category Operations
 */
export function softmax(x: Tensor): Tensor {
  const [[M, N]] = matrices("softmax", { x });
  const out = Tensor.zeros([M, N]);
  softmaxKernel(out.data, x.data, M, N);
  return track(out, [x], (g) => {
    // dx_j = y_j (g_j - sum_k y_k g_k), row by row
    const dx = gradOf(x);
    const y = out.data;
    for (let i = 0; i < M; i++) {
      const o = i * N;
      let dot = 0;
      for (let j = 0; j < N; j++) dot += y[o + j] * g[o + j];
      for (let j = 0; j < N; j++) dx[o + j] += y[o + j] * (g[o + j] - dot);
    }
  });
}

/**
 * Index of the maximum of each row; the lowest index wins ties. The one argmax of the project.
 * A NaN never wins a comparison, so NaN logits (a broken model) are not detected here.
 *
 * @param x - [M, N]
 * @returns [M] token ids
 * @example
 * ```ts
 * argmax(Tensor.from([1, 3, 3, 0], [1, 4])); // Int32Array [1]
 * ```
 * @category Operations
 */
export function argmax(x: Tensor): Int32Array {
  const [[M, N]] = matrices("argmax", { x });
  if (N === 0) throw new ShapeError(`argmax: rows must not be empty, got ${formatShape(x.shape)}`);
  const out = new Int32Array(M);
  argmaxKernel(out, x.data, M, N);
  return out;
}

// ---------------------------------------------------------------- embedding and positions

/**
 * Row gather: `out[i] = table[ids[i]]` (the token embedding).
 *
 * @param table - [V, C]
 * @param ids - [M] integers in `0 .. V-1`
 * @returns [M, C]
 * @example
 * ```ts
 * embedding(Tensor.from([1, 2, 3, 4], [2, 2]), [1, 1]).data; // [3, 4, 3, 4]
 * ```
 * @category Operations
 */
export function embedding(table: Tensor, ids: ArrayLike<number>): Tensor {
  const [[V, C]] = matrices("embedding", { table });
  const out = Tensor.zeros([ids.length, C]);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new ShapeError(`embedding: token id ${id} at index ${i} is outside the vocabulary 0..${V - 1}`);
    }
    out.data.set(table.data.subarray(id * C, (id + 1) * C), i * C);
  }
  return track(out, [table], (g) => {
    // scatter-add: each row's gradient goes to the table row it was gathered from
    const dt = gradOf(table);
    for (let i = 0; i < ids.length; i++) {
      const o = ids[i] * C;
      for (let c = 0; c < C; c++) dt[o + c] += g[i * C + c];
    }
  });
}

/**
 * Rotary position embedding (Hugging Face rotate-half) of every head of every row: pair j of a head at
 * position p turns by `p * inverse[j]` and is scaled by `scale`.
 *
 * @param x - [M, heads * D]
 * @param positions - [M] absolute positions
 * @param heads - number of heads packed in each row
 * @param frequencies - [D/2] inverse frequencies (`ropeFrequencies` in src/model/rope.ts), or a theta
 *   for plain RoPE, `theta^(-2j/D)` (10000 in Llama 2)
 * @param scale - factor on cos and sin (YaRN's attention factor)
 * @returns [M, heads * D]
 * @example
 * ```ts
 * rope(Tensor.from([1, 0], [1, 2]), [0], 1, 10000).data; // [1, 0] (position 0 is the identity)
 * rope(Tensor.from([1, 0], [1, 2]), [2], 1, [0.25]).data; // [cos 0.5, sin 0.5]
 * ```
 * @category Operations
 */
export function rope(x: Tensor, positions: ArrayLike<number>, heads: number, frequencies: number | ArrayLike<number>, scale = 1): Tensor {
  const [[M, width]] = matrices("rope", { x });
  const D = width / heads;
  if (!Number.isInteger(D) || D % 2 !== 0) {
    throw new ShapeError(`rope: row width ${width} is not ${heads} heads of an even head size`);
  }
  if (positions.length !== M) {
    throw new ShapeError(`rope: expected ${M} positions for x ${formatShape(x.shape)}, got ${positions.length}`);
  }
  const inverse = typeof frequencies === "number" ? Array.from({ length: D / 2 }, (_, j) => 1 / Math.pow(frequencies, (2 * j) / D)) : frequencies;
  if (inverse.length !== D / 2) throw new ShapeError(`rope: expected ${D / 2} frequencies for heads of ${D}, got ${inverse.length}`);
  const out = Tensor.zeros([M, width]);
  ropeKernel(out.data, x.data, positions, M, heads, D, inverse, scale, 1);
  return track(out, [x], (g) => {
    // a rotation's Jacobian is the rotation itself; its transpose is the rotation by -theta (same scale)
    const back = new Float64Array(g.length);
    ropeKernel(back, g, positions, M, heads, D, inverse, scale, -1);
    const dx = gradOf(x);
    for (let i = 0; i < back.length; i++) dx[i] += back[i];
  });
}

// ---------------------------------------------------------------- attention

/**
 * Scaled dot-product attention of `M` query rows over `L` key/value rows, with grouped-query heads.
 * `keys`/`values` may be views into a KV cache: the first `L - M` rows are cached, the last `M` are new.
 *
 * @param q - [M, H * D]
 * @param keys - [L, Hkv * D]
 * @param values - [L, Hkv * D]
 * @param visibility - causal (with the number of cached rows as offset) or an explicit [M, L] mask
 * @param threads - kernel threads to split the (row, head) pairs over (same bits; see `threads.ts`)
 * @returns [M, H * D]
 * @example
 * ```ts
 * // one query, one key: the output is that key's value
 * attention(Tensor.from([1, 0], [1, 2]), Tensor.from([0, 1], [1, 2]), Tensor.from([5, 7], [1, 2]),
 *   { numHeads: 1, numKeyValueHeads: 1, headDim: 2 }, { kind: "causal", offset: 0 }).data; // [5, 7]
 * ```
 * @category Operations
 */
export function attention(q: Tensor, keys: Tensor, values: Tensor, shape: AttentionShape, visibility: Visibility, threads?: KernelThreads): Tensor {
  const { numHeads: H, numKeyValueHeads: Hkv, headDim: D } = shape;
  const [[M, qWidth], [L, kWidth]] = matrices("attention", { q, keys, values });
  if (qWidth !== H * D) throw new ShapeError(`attention: expected q [M, H*D] = [${M}, ${H * D}], got ${formatShape(q.shape)}`);
  if (kWidth !== Hkv * D) throw new ShapeError(`attention: expected keys [L, Hkv*D] = [${L}, ${Hkv * D}], got ${formatShape(keys.shape)}`);
  expectSameShape("attention", keys, values);
  if (H % Hkv !== 0) throw new ShapeError(`attention: ${H} query heads are not a multiple of ${Hkv} key/value heads`);
  if (visibility.kind === "causal") {
    if (!Number.isInteger(visibility.offset) || visibility.offset < 0) {
      throw new ShapeError(`attention: causal offset must be a non-negative integer, got ${visibility.offset}`);
    }
    if (visibility.offset + M !== L) {
      throw new ShapeError(`attention: causal offset ${visibility.offset} + ${M} query rows must equal ${L} keys`);
    }
  } else {
    if (visibility.visible.length !== M * L) {
      throw new ShapeError(`attention: expected an explicit mask [M, L] = [${M}, ${L}], got ${visibility.visible.length} entries`);
    }
    for (let i = 0; i < M; i++) {
      if (!visibility.visible.subarray(i * L, (i + 1) * L).includes(1)) {
        throw new ShapeError(`attention: query row ${i} may attend to no key`);
      }
    }
  }
  const out = Tensor.zeros([M, H * D]);
  const probs = new Float64Array(M * H * L);
  attentionShared(out.data, probs, q.data, keys.data, values.data, M, L, shape, visibility, threads);
  return track(out, [q, keys, values], (g) => {
    // per query row i and head h, with p = probs (0 on hidden keys), s = scores, o = out:
    //   dv_j += p_j g_i                    dp_j = g_i · v_j
    //   ds_j = p_j (dp_j - sum_k p_k dp_k)  (softmax backward)
    //   dq_i += ds_j k_j / sqrt(D)         dk_j += ds_j q_i / sqrt(D)
    // Query heads of one group share a key/value head, so their gradients add up there.
    const sc = 1 / Math.sqrt(D);
    const group = H / Hkv;
    const qd = q.data, kd = keys.data, vd = values.data;
    const dq = needsGrad(q) ? gradOf(q) : null;
    const dk = needsGrad(keys) ? gradOf(keys) : null;
    const dv = needsGrad(values) ? gradOf(values) : null;
    const dp = new Float64Array(L);
    for (let i = 0; i < M; i++) {
      for (let h = 0; h < H; h++) {
        const qo = i * H * D + h * D;
        const ko = Math.floor(h / group) * D;
        const p = probs.subarray((i * H + h) * L, (i * H + h + 1) * L);
        let dot = 0;
        for (let j = 0; j < L; j++) {
          const pj = p[j];
          if (pj === 0) { dp[j] = 0; continue; }
          const vo = j * Hkv * D + ko;
          let acc = 0;
          for (let d = 0; d < D; d++) {
            acc += g[qo + d] * vd[vo + d];
            if (dv !== null) dv[vo + d] += pj * g[qo + d];
          }
          dp[j] = acc;
          dot += pj * acc;
        }
        for (let j = 0; j < L; j++) {
          const pj = p[j];
          if (pj === 0) continue;
          const ds = pj * (dp[j] - dot) * sc;
          const kOff = j * Hkv * D + ko;
          if (dq !== null) for (let d = 0; d < D; d++) dq[qo + d] += ds * kd[kOff + d];
          if (dk !== null) for (let d = 0; d < D; d++) dk[kOff + d] += ds * qd[qo + d];
        }
      }
    }
  });
}

export type { AttentionShape, Visibility };
