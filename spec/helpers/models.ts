/**
 * Spec helpers: random tiny model configurations as fast-check arbitraries, and comparisons whose
 * failures teach (the label, the first differing element or token, its context).
 *
 * @module
 */
import fc from "fast-check";
import { PRESETS, type ModelConfig } from "../../src/model/config.ts";
import { initParams, type Params } from "../../src/model/params.ts";

/** Random tiny configs: GQA or not, tied or not, with or without q/k/v bias (Qwen2). */
export const tinyConfigArb: fc.Arbitrary<ModelConfig> = fc
  .record({
    heads: fc.constantFrom([4, 2], [4, 4], [4, 1], [2, 2]),
    headSize: fc.constantFrom(2, 4),
    layers: fc.integer({ min: 1, max: 2 }),
    tied: fc.boolean(),
    bias: fc.boolean(),
    intermediate: fc.integer({ min: 4, max: 24 }),
  })
  .map(({ heads: [H, Hkv], headSize, layers, tied, bias, intermediate }) => ({
    ...PRESETS.tiny,
    architecture: bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM",
    attentionBias: bias,
    tieWordEmbeddings: tied,
    hiddenSize: H * headSize,
    numHeads: H,
    numKeyValueHeads: Hkv,
    numLayers: layers,
    intermediateSize: intermediate,
    vocabSize: 64,
    maxPositions: 48,
  }));

/** A random tiny model: config and weights (std 0.5 so that outputs vary from token to token). */
export const tinyModelArb: fc.Arbitrary<{ config: ModelConfig; params: Params; seed: number }> = fc
  .tuple(tinyConfigArb, fc.integer({ min: 0, max: 1_000_000 }))
  .map(([config, seed]) => ({ config, params: initParams(config, { seed, std: 0.5 }), seed }));

/** Throws unless `a` and `b` hold bit-identical values; the message names the first difference. */
export function expectBitIdentical(label: string, a: Float64Array, b: Float64Array, rowWidth = 1): void {
  if (a.length !== b.length) throw new Error(`${label}: lengths differ, ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      const row = Math.floor(i / rowWidth);
      throw new Error(`${label}: first difference at row ${row}, column ${i % rowWidth}: ${a[i]} vs ${b[i]} (diff ${a[i] - b[i]})`);
    }
  }
}

/** Throws unless two token sequences are equal; the message shows the first differing token in context. */
export function expectSameTokens(label: string, actual: readonly number[], expected: readonly number[]): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      const from = Math.max(0, i - 5);
      throw new Error(`${label}: token ${i} is ${actual[i]}, expected ${expected[i]}; ` +
        `context ...[${expected.slice(from, i).join(", ")}] then ${expected[i]} (got ${actual[i]})`);
    }
  }
  if (actual.length !== expected.length) {
    throw new Error(`${label}: ${actual.length} tokens, expected ${expected.length}; equal up to token ${n}`);
  }
}
