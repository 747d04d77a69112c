/**
 * The end-to-end yardstick of the kernel work: AR greedy on a model whose every product uses a plain
 * K x N register-tiled kernel (weights stored [K, N], the usual first attempt in JavaScript) next to AR
 * greedy with the project's kernels, timed in the same run, interleaved. Everything else in the
 * forward — embedding, norms, RoPE, attention, the KV cache — is the project's own code, so the ratio
 * is what the matrix-product kernel buys a whole decode. The two forwards sum each output element in the
 * same order, so their tokens must be equal; the bench checks that too.
 *
 * A benchmark, not a test: compare numbers measured in the same run only.
 *
 * @module
 */
import { KVCache } from "../src/model/cache.ts";
import { headDim, type ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { argmaxKernel } from "../src/tensor/kernels.ts";
import { add, attention, embedding, mul, rmsNorm, rope, silu } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { interleavedMedianMs } from "../src/util/timing.ts";
import { matmulKxN4x4 } from "./kernels.ts";

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
 *
 * @example
 * ```ts
 * arVersusKxN(PRESETS.small, initParams(PRESETS.small, { seed: 0 }), 64, 5).ratio; // e.g. 2.1
 * ```
 */
export function arVersusKxN(config: ModelConfig, params: Params, newTokens: number, reps: number): KxNComparison {
  const prompt = [config.bosTokenId, 40, 41, 42, 43];
  const weights: KxNWeights = new Map();
  const ours = (): number[] => decode(config, prompt, newTokens, (t, cache) => forward(config, params, t, { cache }));
  const kxn = (): number[] => decode(config, prompt, newTokens, (t, cache) => forwardKxN(config, params, weights, t, cache));
  const identical = JSON.stringify(ours()) === JSON.stringify(kxn());     // also the warm-up of both
  const [oursMs, kxnMs] = interleavedMedianMs([ours, kxn], reps, 0);
  const oursTps = newTokens / (oursMs / 1000), kxnTps = newTokens / (kxnMs / 1000);
  return { oursTokensPerSecond: oursTps, kxnTokensPerSecond: kxnTps, ratio: oursTps / kxnTps, identical };
}
