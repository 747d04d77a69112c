/**
 * The yardsticks of the CPU kernel work, kept to be timed, never run by the model: the matrix-product
 * kernel this project had before (one row, four columns at a time) and a plain K x N register-tiled
 * kernel (weights stored [K, N], the usual first attempt in JavaScript), in the kernel table beside the
 * project's kernel and its reference loop; and AR greedy on a model whose every product uses the K x N
 * kernel, next to AR greedy with the project's kernels, timed in the same run, interleaved.
 *
 * In the AR comparison everything else in the forward — embedding, norms, RoPE, attention, the KV cache —
 * is the project's own code, so the ratio is what the matrix-product kernel buys a whole decode. The two
 * forwards sum each output element in the same order, so their tokens must be equal; this checks that
 * too (and spec/bench.spec.ts, so the yardstick stays fair).
 *
 * Usage: `npx tsx bench/experiments/kxn-baseline.ts [--quick]`: the kernel table and the AR comparison
 * on the random `small` model, as text. Numbers from one run compare only with each other.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { KVCache } from "../../src/model/cache.ts";
import { PRESETS, headDim, type ModelConfig } from "../../src/model/config.ts";
import { initParams, type Params } from "../../src/model/params.ts";
import { forward } from "../../src/model/transformer.ts";
import { argmaxKernel, matmulTransposedKernel, matmulTransposedReference } from "../../src/tensor/kernels.ts";
import { add, attention, embedding, mul, rmsNorm, rope, silu } from "../../src/tensor/ops.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { interleavedMedianMs } from "../../src/util/timing.ts";
import { kernelTable, scalarPeakGflops, type TableKernel } from "../kernels.ts";

// ---------------------------------------------------------------- the two old kernels

/**
 * The yardstick: `out = x w` with `w` stored `[K, N]` and a 4 x 4 register tile (four rows share each
 * load of four contiguous weights). Not used by the model; same per-element order as the others.
 */
export function matmulKxN4x4(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i += 4) {
    const rows = Math.min(4, M - i);
    const x0 = i * K, x1 = rows > 1 ? x0 + K : x0, x2 = rows > 2 ? x0 + 2 * K : x0, x3 = rows > 3 ? x0 + 3 * K : x0;
    for (let n = 0; n < N; n += 4) {
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let k = 0, p = n; k < K; k++, p += N) {
        const b0 = w[p], b1 = w[p + 1], b2 = w[p + 2], b3 = w[p + 3];
        let u = x[x0 + k];
        a00 += u * b0; a01 += u * b1; a02 += u * b2; a03 += u * b3;
        u = x[x1 + k];
        a10 += u * b0; a11 += u * b1; a12 += u * b2; a13 += u * b3;
        u = x[x2 + k];
        a20 += u * b0; a21 += u * b1; a22 += u * b2; a23 += u * b3;
        u = x[x3 + k];
        a30 += u * b0; a31 += u * b1; a32 += u * b2; a33 += u * b3;
      }
      const tile = [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33];
      for (let r = 0; r < rows; r++) for (let c = 0; c < 4; c++) out[(i + r) * N + n + c] = tile[r * 4 + c];
    }
  }
}

/** The kernel before the tiled one: one row at a time, four columns side by side sharing the loads of `x`. */
function matmulOneRowFourColumns(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const xo = i * K, oo = i * N;
    for (let n = 0; n < N; n += 4) {
      const w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < K; k++) {
        const u = x[xo + k];
        a0 += u * w[w0 + k]; a1 += u * w[w1 + k]; a2 += u * w[w2 + k]; a3 += u * w[w3 + k];
      }
      out[oo + n] = a0; out[oo + n + 1] = a1; out[oo + n + 2] = a2; out[oo + n + 3] = a3;
    }
  }
}

/** The kernel table with the yardsticks: the model's kernel, the one before it, the K x N kernel, the reference loop. */
export const YARDSTICK_KERNELS: readonly TableKernel[] = [
  { name: "tiled", run: matmulTransposedKernel, weights: "NxK" },
  { name: "before", run: matmulOneRowFourColumns, weights: "NxK" },
  { name: "kxn-4x4", run: matmulKxN4x4, weights: "KxN" },
  { name: "reference", run: matmulTransposedReference, weights: "NxK" },
];

// ---------------------------------------------------------------- AR greedy through the K x N kernel

/** Weights transposed once into [K, N], by the tensor they came from. */
type KxNWeights = Map<Tensor, Float64Array>;

function transposed(weights: KxNWeights, w: Tensor): Float64Array {
  let t = weights.get(w);
  if (t === undefined) {
    const [N, K] = w.shape;
    t = new Float64Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w.data[n * K + k];
    weights.set(w, t);
  }
  return t;
}

/** `x W^T + b` through the K x N kernel. */
function linearKxN(weights: KxNWeights, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const [M, K] = x.shape;
  const N = w.shape[0];
  const out = Tensor.zeros([M, N]);
  matmulKxN4x4(out.data, x.data, transposed(weights, w), M, K, N);
  if (b !== undefined) for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) out.data[i * N + n] += b.data[n];
  return out;
}

/** The transformer's forward with a cache (src/model/transformer.ts), every product through the K x N kernel. */
function forwardKxN(config: ModelConfig, params: Params, weights: KxNWeights, tokens: readonly number[], cache: KVCache): Tensor {
  const T = tokens.length, P = cache.length, L = P + T;
  const positions = Array.from({ length: T }, (_, i) => P + i);
  const shape = { numHeads: config.numHeads, numKeyValueHeads: config.numKeyValueHeads, headDim: headDim(config) };
  let x = embedding(params.embed, tokens);
  params.layers.forEach((layer, l) => {
    const h = rmsNorm(x, layer.inputNorm, config.rmsNormEps);
    const q = rope(linearKxN(weights, h, layer.wq, layer.bq), positions, config.numHeads, config.ropeTheta);
    const k = rope(linearKxN(weights, h, layer.wk, layer.bk), positions, config.numKeyValueHeads, config.ropeTheta);
    const v = linearKxN(weights, h, layer.wv, layer.bv);
    cache.write(l, k.data, v.data);
    const keys = new Tensor(cache.keys[l].subarray(0, L * cache.width), [L, cache.width]);
    const values = new Tensor(cache.values[l].subarray(0, L * cache.width), [L, cache.width]);
    x = add(x, linearKxN(weights, attention(q, keys, values, shape, { kind: "causal", offset: P }), layer.wo));
    const m = rmsNorm(x, layer.postNorm, config.rmsNormEps);
    x = add(x, linearKxN(weights, mul(silu(linearKxN(weights, m, layer.wGate)), linearKxN(weights, m, layer.wUp)), layer.wDown));
  });
  cache.extend(T);
  return linearKxN(weights, rmsNorm(x, params.norm, config.rmsNormEps), params.lmHead);
}

/** Greedy AR decode of `newTokens` tokens after `prompt` with a forward function; the new tokens. */
function decode(config: ModelConfig, prompt: readonly number[], newTokens: number, step: (tokens: readonly number[], cache: KVCache) => Tensor): number[] {
  const cache = new KVCache(config);
  const V = config.vocabSize;
  const next = new Int32Array(1);
  let logits = step(prompt, cache);
  const out: number[] = [];
  for (let i = 0; i < newTokens; i++) {
    argmaxKernel(next, logits.data.subarray((logits.shape[0] - 1) * V), 1, V);
    out.push(next[0]);
    logits = step([next[0]], cache);
  }
  return out;
}

/** What {@link arVersusKxN} measured. */
export interface KxNComparison {
  /** AR tokens/s with the project's kernels (median over reps). */
  readonly oursTokensPerSecond: number;
  /** AR tokens/s with every product through the K x N register-tiled kernel. */
  readonly kxnTokensPerSecond: number;
  /** ours / K x N. */
  readonly ratio: number;
  /** Whether both decodes produced the same tokens. */
  readonly identical: boolean;
}

/**
 * AR greedy tokens/s with the project's kernels and with the K x N baseline, interleaved rep by rep
 * (median of each), on the same prompt, and whether their tokens agree.
 */
export function arVersusKxN(config: ModelConfig, params: Params, newTokens: number, reps: number): KxNComparison {
  const prompt = [config.bosTokenId!, 40, 41, 42, 43];
  const weights: KxNWeights = new Map();
  const ours = (): number[] => decode(config, prompt, newTokens, (t, cache) => forward(config, params, t, { cache }));
  const kxn = (): number[] => decode(config, prompt, newTokens, (t, cache) => forwardKxN(config, params, weights, t, cache));
  const identical = JSON.stringify(ours()) === JSON.stringify(kxn());     // also the warm-up of both
  const [oursMs, kxnMs] = interleavedMedianMs([ours, kxn], reps, 0);
  const oursTps = newTokens / (oursMs / 1000), kxnTps = newTokens / (kxnMs / 1000);
  return { oursTokensPerSecond: oursTps, kxnTokensPerSecond: kxnTps, ratio: oursTps / kxnTps, identical };
}

// ---------------------------------------------------------------- the script

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const peak = scalarPeakGflops(quick ? 100 : 300, quick ? 5 : 9).median;
  const kernels = kernelTable({ rows: quick ? [1, 16, 64] : [1, 4, 16, 32, 64], widths: quick ? [256] : [256, 512], msPerPoint: quick ? 60 : 250, rounds: quick ? 5 : 9 }, YARDSTICK_KERNELS);
  console.log(`matrix product out[M, N] = x[M, K] w^T, GFLOP/s, one thread (scalar float64 peak of this core: ${peak.toFixed(2)})`);
  console.log("   M     K     N     tiled  before (1x4)   kxn-4x4   reference   tiled/before");
  for (const r of kernels.filter((k) => k.kernel === "tiled")) {
    const of = (kernel: string) => kernels.find((k) => k.kernel === kernel && k.M === r.M && k.K === r.K)?.gflops ?? NaN;
    console.log(`${String(r.M).padStart(4)}  ${String(r.K).padStart(4)}  ${String(r.N).padStart(4)}  ${r.gflops.toFixed(2).padStart(8)}  ` +
      `${of("before").toFixed(2).padStart(12)}  ${of("kxn-4x4").toFixed(2).padStart(8)}  ${of("reference").toFixed(2).padStart(10)}  ${(r.gflops / of("before")).toFixed(2).padStart(12)}x`);
  }
  const small = PRESETS.small;
  const kxn = arVersusKxN(small, initParams(small, { seed: 0 }), quick ? 32 : 64, quick ? 3 : 7);
  console.log(`\nAR greedy on small (random, seed 0), whole decode, interleaved: these kernels ${kxn.oursTokensPerSecond.toFixed(0)} tokens/s, ` +
    `a plain K x N register-tiled kernel ${kxn.kxnTokensPerSecond.toFixed(0)} tokens/s: ${kxn.ratio.toFixed(2)}x` +
    `${kxn.identical ? " (same tokens)" : " (TOKENS DIFFER: a bug)"}`);
  if (!kxn.identical) process.exitCode = 1;
}
