/**
 * The transformer forward pass of a Llama/Qwen2-family causal language model, top to bottom.
 *
 * `forward(config, params, tokens, options)` maps T token ids to T rows of next-token logits. With a
 * KV cache it continues a sequence: the new tokens sit at positions `P .. P+T-1` after the P cached ones,
 * their keys and values are appended, and attention reads the cache in place. Explicit positions and an
 * explicit visibility mask let one call process a packed training sequence or several candidate drafts.
 * Kernel threads, passed like the cache, split the products, the attention and the SiLU over several
 * cores with the same bits (`src/tensor/threads.ts`).
 *
 * It is not a serving engine: no batching of independent sequences, no quantisation, float64 only.
 *
 * Shape legend:
 *   T tokens in this call     P rows already in the cache     L = P + T keys visible to attention
 *   C hidden width            I MLP width                     V vocabulary
 *   H query heads             Hkv key/value heads             D head size (C / H)
 *
 * Read next: `src/decoding/greedy.ts`, the AR greedy oracle built on this function.
 *
 * @module
 */
import { add, attention, embedding, linear, mul, rmsNorm, rope, silu, type Visibility } from "../tensor/ops.ts";
import type { KernelThreads } from "../tensor/threads.ts";
import { ShapeError, Tensor } from "../tensor/tensor.ts";
import type { KVCache } from "./cache.ts";
import { headDim, type ModelConfig } from "./config.ts";
import type { Params } from "./params.ts";
import { ropeFrequencies } from "./rope.ts";

/**
 * Options of {@link forward}.
 *
 * @category Model
 */
export interface ForwardOptions {
  /** Cache to continue from and append to; without one the call sees only its own tokens. */
  readonly cache?: KVCache;
  /** [T] absolute position of each token; default `P, P+1, ..., P+T-1`. Positions may repeat (packing). */
  readonly positions?: ArrayLike<number>;
  /** [T, L] explicit visibility, 1 where query row i may attend to key j; default causal. */
  readonly mask?: Uint8Array;
  /** Kernel threads to run the forward on, holding `params` (`startKernelThreads`); default this thread only. */
  readonly threads?: KernelThreads;
}

/**
 * Next-token logits for each of `tokens`: the whole transformer, in data-flow order.
 *
 * Every kernel underneath is batch-invariant, so row i of the result is bit-identical whether the tokens
 * were forwarded in one call or in any chunking through the cache.
 *
 * @param config - the blueprint
 * @param params - the weights
 * @param tokens - [T] token ids
 * @returns [T, V] logits; row i predicts the token after `tokens[i]`
 * @example
 * ```ts
 * const params = initParams(PRESETS.tiny, { seed: 1 });
 * forward(PRESETS.tiny, params, [1, 40, 41]).shape; // [3, 100]
 * // a packed training sequence: two 2-token blocks at the same positions, each seeing only itself
 * forward(PRESETS.tiny, params, [5, 6, 7, 8], { positions: [0, 1, 0, 1], mask: Uint8Array.from([1,0,0,0, 1,1,0,0, 0,0,1,0, 0,0,1,1]) });
 * ```
 * @category Model
 */
export function forward(config: ModelConfig, params: Params, tokens: ArrayLike<number>, options: ForwardOptions = {}): Tensor {
  const { cache, threads } = options;
  const T = tokens.length;
  const P = cache?.length ?? 0;
  const L = P + T;
  const positions = options.positions ?? Array.from({ length: T }, (_, i) => P + i);
  checkForwardInputs("forward", config, tokens, positions, L, options.mask, cache !== undefined);
  if (cache && cache.width !== config.numKeyValueHeads * headDim(config)) {
    throw new ShapeError(`forward: the cache rows are ${cache.width} wide, the model's keys ${config.numKeyValueHeads * headDim(config)}`);
  }
  const shape = { numHeads: config.numHeads, numKeyValueHeads: config.numKeyValueHeads, headDim: headDim(config) };
  const visibility: Visibility = options.mask ? { kind: "explicit", visible: options.mask } : { kind: "causal", offset: P };
  const { inverse, scale } = ropeFrequencies(config);
  /** Qwen3 normalises each head of q and k before rotating them; the others rotate them as projected. */
  const headNorm = (t: Tensor, weight: Tensor | undefined): Tensor => (weight ? rmsNorm(t, weight, config.rmsNormEps) : t);

  let x = embedding(params.embed, tokens);                                  // [T, C]
  params.layers.forEach((layer, l) => {
    // attention block: pre-norm, project, rotate, attend over cache + new rows, project back
    const h = rmsNorm(x, layer.inputNorm, config.rmsNormEps);               // [T, C]
    const q = rope(headNorm(linear(h, layer.wq, layer.bq, threads), layer.qNorm), positions, config.numHeads, inverse, scale);          // [T, H*D]
    const k = rope(headNorm(linear(h, layer.wk, layer.bk, threads), layer.kNorm), positions, config.numKeyValueHeads, inverse, scale);  // [T, Hkv*D]
    const v = linear(h, layer.wv, layer.bv, threads);                       // [T, Hkv*D]
    let keys = k;
    let values = v;
    if (cache) {
      cache.write(l, k.data, v.data);
      keys = new Tensor(cache.keys[l].subarray(0, L * cache.width), [L, cache.width]);     // [L, Hkv*D], a view
      values = new Tensor(cache.values[l].subarray(0, L * cache.width), [L, cache.width]); // [L, Hkv*D], a view
    }
    const a = attention(q, keys, values, shape, visibility, threads);       // [T, H*D]
    x = add(x, linear(a, layer.wo, undefined, threads));                    // [T, C]
    // MLP block: pre-norm, SwiGLU
    const m = rmsNorm(x, layer.postNorm, config.rmsNormEps);                // [T, C]
    const gate = silu(linear(m, layer.wGate, undefined, threads), threads); // [T, I]
    const gated = mul(gate, linear(m, layer.wUp, undefined, threads));      // [T, I]
    x = add(x, linear(gated, layer.wDown, undefined, threads));             // [T, C]
  });
  cache?.extend(T);
  const final = rmsNorm(x, params.norm, config.rmsNormEps);                 // [T, C]
  return linear(final, params.lmHead, undefined, threads);                  // [T, V]
}

// ---------------------------------------------------------------- input checks

/**
 * The checks of a forward's inputs that every backend makes, each failure a `ShapeError` that starts with
 * `where`: at least one token, every id in the vocabulary, one position per token, each within the
 * context, a mask of `[T, L]` entries, and — when a cache holds the keys — `L` (cache + new) within the
 * context. Without a cache only the positions are bounded, so a packed training sequence may be longer
 * than the context as long as its positions fit.
 *
 * @param L - keys each query may see: cache length + T
 * @param cached - whether a cache holds the keys
 * @example
 * ```ts
 * checkForwardInputs("forward", PRESETS.tiny, [5, 99], [0, 1], 2, undefined, false);
 * // ShapeError: forward: token id 99 at index 1 is outside the vocabulary 0..19
 * ```
 * @category Model
 */
export function checkForwardInputs(
  where: string, config: ModelConfig, tokens: ArrayLike<number>, positions: ArrayLike<number>, L: number,
  mask: ArrayLike<number> | undefined, cached: boolean,
): void {
  const T = tokens.length;
  if (T === 0) throw new ShapeError(`${where}: expected at least one token, got none`);
  for (let i = 0; i < T; i++) {
    const id = tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new ShapeError(`${where}: token id ${id} at index ${i} is outside the vocabulary 0..${config.vocabSize - 1}`);
    }
  }
  if (cached && L > config.maxPositions) {
    throw new ShapeError(`${where}: ${L} tokens (cache + new) exceed the context length ${config.maxPositions}`);
  }
  if (positions.length !== T) throw new ShapeError(`${where}: expected ${T} positions, got ${positions.length}`);
  for (let i = 0; i < T; i++) {
    const p = positions[i];
    if (!Number.isInteger(p) || p < 0 || p >= config.maxPositions) {
      throw new ShapeError(`${where}: position ${p} at index ${i} is outside the context 0..${config.maxPositions - 1}`);
    }
  }
  if (mask && mask.length !== T * L) throw new ShapeError(`${where}: expected a mask [T, L] = [${T}, ${L}], got ${mask.length} entries`);
}
