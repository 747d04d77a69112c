import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arGreedy, arGreedyReference } from "../src/decoding/greedy.ts";
import { KVCache } from "../src/model/cache.ts";
import { ConfigError, PRESETS, validateConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { cpuRunner } from "../src/model/runner.ts";
import { forward } from "../src/model/transformer.ts";
import { ShapeError } from "../src/tensor/tensor.ts";
import { expectBitIdentical, expectSameTokens, tinyModelArb } from "./helpers/models.ts";

/** Cut points that split `length` tokens into random non-empty chunks. */
const chunkingArb = (length: number) =>
  fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: length - 1 }).map((cuts) => [0, ...cuts.sort((a, b) => a - b), length]);

describe("batch invariance: the cached forward is bit-identical to the full forward", () => {
  it("any chunking of a sequence through the cache gives the same logits, bit for bit", () => {
    fc.assert(
      fc.property(
        tinyModelArb,
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 2, maxLength: 24 }),
        fc.context(),
        ({ config, params }, tokens, ctx) => {
          const full = forward(config, params, tokens);
          const V = config.vocabSize;
          const cuts = fc.sample(chunkingArb(tokens.length), { numRuns: 1, seed: tokens.length })[0];
          ctx.log(`chunks at ${cuts.join(",")}`);
          const cache = new KVCache(config);
          for (let c = 0; c + 1 < cuts.length; c++) {
            const part = forward(config, params, tokens.slice(cuts[c], cuts[c + 1]), { cache });
            expectBitIdentical(`chunk ${cuts[c]}..${cuts[c + 1]}`, part.data, full.data.subarray(cuts[c] * V, cuts[c + 1] * V), V);
          }
          // one token at a time, too
          const single = new KVCache(config);
          tokens.forEach((t, i) => {
            const row = forward(config, params, [t], { cache: single });
            expectBitIdentical(`token ${i} alone`, row.data, full.data.subarray(i * V, (i + 1) * V), V);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("truncate-then-forward equals never having forwarded the dropped tokens", () => {
    fc.assert(
      fc.property(
        tinyModelArb,
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 10 }),
        ({ config, params }, kept, dropped, next) => {
          const rolled = new KVCache(config);
          forward(config, params, kept, { cache: rolled });
          forward(config, params, dropped, { cache: rolled });
          rolled.truncate(kept.length);
          const a = forward(config, params, next, { cache: rolled });
          const clean = new KVCache(config);
          forward(config, params, kept, { cache: clean });
          const b = forward(config, params, next, { cache: clean });
          expectBitIdentical("logits after rollback", a.data, b.data, config.vocabSize);
          expect(rolled.length).toBe(clean.length);
          for (let l = 0; l < config.numLayers; l++) {
            const n = clean.length * clean.width;
            expectBitIdentical(`layer ${l} keys`, rolled.keys[l].subarray(0, n), clean.keys[l].subarray(0, n), clean.width);
            expectBitIdentical(`layer ${l} values`, rolled.values[l].subarray(0, n), clean.values[l].subarray(0, n), clean.width);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("clone is independent of the original", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 4 });
    const cache = new KVCache(config);
    forward(config, params, [1, 2, 3], { cache });
    const copy = cache.clone();
    forward(config, params, [4, 5], { cache });
    expect(copy.length).toBe(3);
    const a = forward(config, params, [9], { cache: copy });
    const fresh = new KVCache(config);
    forward(config, params, [1, 2, 3], { cache: fresh });
    expectBitIdentical("clone", a.data, forward(config, params, [9], { cache: fresh }).data);
  });

  it("an explicit causal mask and explicit default positions equal the implicit ones", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 9, std: 0.5 });
    const tokens = [1, 7, 8, 9, 30];
    const T = tokens.length;
    const mask = new Uint8Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) mask[i * T + j] = 1;
    const a = forward(config, params, tokens);
    const b = forward(config, params, tokens, { mask, positions: [0, 1, 2, 3, 4] });
    expectBitIdentical("explicit causal mask", a.data, b.data, config.vocabSize);
  });
});

describe("AR greedy", () => {
  it("arGreedy equals arGreedyReference token for token", () => {
    fc.assert(
      fc.property(
        tinyModelArb,
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 40 }),
        fc.option(fc.integer({ min: 0, max: 63 }), { nil: null }),
        ({ config, params }, prompt, maxNewTokens, eos) => {
          const ref = arGreedyReference(config, params, prompt, { maxNewTokens, eosTokenId: eos });
          const fast = arGreedy(config, params, prompt, { maxNewTokens, eosTokenId: eos });
          expectSameTokens("arGreedy vs reference", fast.tokens, ref.tokens);
          expect(fast.stats.forwards).toBe(fast.tokens.length);
          const eosAt = eos === null ? -1 : ref.tokens.indexOf(eos);
          if (eosAt >= 0) expect(eosAt).toBe(ref.tokens.length - 1); // stops right after the first EOS
          else expect(ref.tokens.length).toBe(Math.min(maxNewTokens, config.maxPositions - prompt.length));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("stops at the context limit and rejects prompts longer than the context", () => {
    const config = { ...PRESETS.tiny, maxPositions: 10 };
    const params = initParams(config, { seed: 2 });
    const r = arGreedy(config, params, [1, 2, 3, 4, 5, 6, 7, 8], { maxNewTokens: 50, eosTokenId: null });
    expect(r.tokens.length).toBe(2);
    expect(() => arGreedy(config, params, Array(11).fill(5), { maxNewTokens: 1 })).toThrow(/11 tokens, more than the context length 10/);
    expect(() => arGreedy(config, params, [], { maxNewTokens: 1 })).toThrow(/at least one token/);
    expect(() => arGreedy(config, params, [1], { maxNewTokens: -1 })).toThrow(/maxNewTokens must be a non-negative integer/);
    expect(() => arGreedy(config, params, [1, 100], { maxNewTokens: 1 })).toThrow(/prompt token 100 at index 1/);
  });
});

describe("inputs are checked at the boundary", () => {
  const config = PRESETS.tiny;
  const params = initParams(config, { seed: 1 });
  it("forward rejects bad tokens, positions, masks and overflow", () => {
    expect(() => forward(config, params, [])).toThrow(ShapeError);
    expect(() => forward(config, params, [1, 100])).toThrow(/forward: token id 100 at index 1 is outside the vocabulary 0..99/);
    expect(() => forward(config, params, [1, 2], { positions: [0, 128] })).toThrow(/position 128 at index 1/);
    expect(() => forward(config, params, [1, 2], { mask: new Uint8Array(3) })).toThrow(/expected a mask \[T, L\] = \[2, 2\]/);
    expect(() => forward(config, params, Array(129).fill(1))).toThrow(/position 128 at index 128 is outside the context 0..127/);
    const cache = new KVCache(config);
    forward(config, params, Array(120).fill(1), { cache });
    expect(() => forward(config, params, Array(9).fill(1), { cache })).toThrow(/129 tokens \(cache \+ new\) exceed/);
    expect(cache.length).toBe(120);
    expect(() => cache.truncate(121)).toThrow(/KVCache.truncate: length must be an integer in 0..120, got 121/);
  });
  it("the CPU runner checks newCache's firstStep hint", () => {
    const runner = cpuRunner(config, params);
    expect(() => runner.newCache({ firstStep: 0 })).toThrow(/cpu runner newCache: firstStep must be a positive whole number of tokens, got 0/);
    expect(() => runner.newCache({ firstStep: 1.5 })).toThrow(RangeError);
    expect(runner.newCache({ firstStep: 4 }).length).toBe(0);
  });
  it("validateConfig names the bad field", () => {
    expect(() => validateConfig({ ...config, numKeyValueHeads: 3 })).toThrow(ConfigError);
    expect(() => validateConfig({ ...config, numKeyValueHeads: 3 })).toThrow(/numKeyValueHeads 3 must divide numHeads 4/);
    expect(() => validateConfig({ ...config, hiddenSize: 18 })).toThrow(/hiddenSize 18/);
    expect(() => validateConfig({ ...config, eosTokenId: 100 })).toThrow(/eosTokenId must be a token id in 0..99 or a list of them, got 100/);
    expect(() => validateConfig({ ...config, numLayers: 0 })).toThrow(/numLayers must be a positive integer, got 0/);
    expect(() => initParams({ ...config, vocabSize: 1.5 }, { seed: 0 })).toThrow(/vocabSize must be a positive integer/);
  });
});
