/**
 * Multi-block decoding with rejection recycling, beyond the shared equality suite (`decoders.spec.ts`):
 * - K = 1 with an empty pool is block Jacobi, forward for forward (same drafts, same verdicts);
 * - after every forward, each of which commits at least one token, the cache holds exactly the
 *   committed text, bit for bit what a fresh forward of it gives — also when a candidate row won and
 *   its KV rows were moved (`KVCache.keepRows`);
 * - the suite's random cases really exercise spawning, promotion and recycled candidates;
 * - a model whose prediction ignores its input shows the mechanism: promoted blocks verify in one forward;
 * - the two pools propose what they should, and bad options are named.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { makePool } from "../src/decoding/recycling.ts";
import { resolveMultiBlockOptions, type JacobiStep, type MultiBlockStep } from "../src/decoding/types.ts";
import { KVCache } from "../src/model/cache.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { MULTIBLOCK_VARIANTS, caseArb, describeCase } from "./helpers/decoding.ts";
import { expectBitIdentical, expectSameTokens } from "./helpers/models.ts";

describe("multiBlock with K = 1 and an empty pool is block Jacobi", () => {
  it("the same drafts, verdicts, forwards and blocks, for any case (maxIterations caps included)", () => {
    fc.assert(
      fc.property(caseArb, fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }), (c, maxIterations) => {
        const label = `${describeCase(c)} maxIterations=${maxIterations}`;
        const trace = (s: JacobiStep | MultiBlockStep) => `${s.block}.${s.iteration} @${s.committedBefore} [${s.draft.join(",")}] +${s.accepted}`;
        const jSteps: string[] = [];
        const mSteps: string[] = [];
        const j = jacobi(c.config, c.params, c.prompt, { ...c, mode: "block", maxIterations, onIteration: (s) => jSteps.push(trace(s)) });
        const m = multiBlock(c.config, c.params, c.prompt, { ...c, maxBlocks: 1, poolSize: 0, maxIterations, onIteration: (s) => mSteps.push(trace(s)) });
        expect(mSteps, label).toEqual(jSteps);
        expectSameTokens(label, m.tokens, j.tokens);
        expect([m.stats.forwards, m.stats.tokenPositions, m.stats.iterationsPerBlock], label)
          .toEqual([j.stats.forwards, j.stats.tokenPositions, j.stats.iterationsPerBlock]);
      }),
      { numRuns: 60 },
    );
  });
});

describe("every forward commits, and the cache holds exactly the committed text", () => {
  it("after each forward: at least one token committed, cache = a fresh forward of prompt + committed, bit for bit", () => {
    let candidateWins = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const label = describeCase(c);
        const steps: { committed: number; accepted: number; length: number; layers: { keys: Float64Array; values: Float64Array }[] }[] = [];
        const result = multiBlock(c.config, c.params, c.prompt, {
          ...c,
          onIteration: (s) => {
            if (s.winner >= 0) candidateWins++;
            const layers = Array.from({ length: c.config.numLayers }, (_, l) => s.cache.read(l));
            steps.push({ committed: s.committedBefore + s.accepted, accepted: s.accepted, length: s.cache.length, layers });
          },
        });
        expect(steps.length, label).toBe(result.stats.forwards);
        for (const s of steps) {
          expect(s.accepted, label).toBeGreaterThanOrEqual(1);
          const text = [...c.prompt, ...result.tokens.slice(0, s.committed)];
          expect(s.length, label).toBe(text.length);
          const fresh = new KVCache(c.config);
          forward(c.config, c.params, text, { cache: fresh });
          for (let l = 0; l < c.config.numLayers; l++) {
            const rows = text.length * fresh.width;
            expectBitIdentical(`${label}: keys of layer ${l} after ${s.committed} tokens`, s.layers[l].keys, fresh.keys[l].subarray(0, rows), fresh.width);
            expectBitIdentical(`${label}: values of layer ${l} after ${s.committed} tokens`, s.layers[l].values, fresh.values[l].subarray(0, rows), fresh.width);
          }
        }
      }),
      { numRuns: 40, seed: 7 },
    );
    expect(candidateWins, "no candidate row won in these cases: the moved-rows path went untested").toBeGreaterThan(0);
  });
});

describe("the shared suite's cases exercise every part of the algorithm", () => {
  it("blocks are spawned and promoted (K = 3 with two behind the RA block), promoted and recycled tokens committed", () => {
    const total = { spawned: 0, promoted: 0, fromPromoted: 0, fromRecycled: 0, fromDraft: 0, twoPseudoActive: 0 };
    for (const c of fc.sample(caseArb, { numRuns: 100, seed: 3 })) {
      for (const variant of MULTIBLOCK_VARIANTS) {
        const onIteration = (s: MultiBlockStep) => { if (s.pseudoBlocks.length === 2) total.twoPseudoActive++; };
        const { stats } = multiBlock(c.config, c.params, c.prompt, { ...c, ...variant(c), onIteration });
        const f = stats.acceptedFrom;
        expect(f.anchor + f.draft + f.recycled + f.promoted, describeCase(c)).toBe(stats.committedTokens);
        expect(f.anchor, describeCase(c)).toBe(stats.forwards);
        total.spawned += stats.spawned;
        total.promoted += stats.promoted;
        total.fromPromoted += f.promoted;
        total.fromRecycled += f.recycled;
        total.fromDraft += f.draft;
      }
    }
    for (const [what, count] of Object.entries(total)) expect(count, what).toBeGreaterThan(0);
  });
});

describe("a model whose prediction ignores its input", () => {
  // Same embedding for every token and no attention output: every row predicts the same token, so
  // every draft is right after one update — pseudo-active blocks converge behind the RA block, and a
  // promoted block is verified whole in its first forward.
  const config = { ...PRESETS.tiny, maxPositions: 160 };
  const blind = initParams(config, { seed: 1, std: 0.5 });
  for (let v = 1; v < config.vocabSize; v++) blind.embed.data.copyWithin(v * config.hiddenSize, 0, config.hiddenSize);
  for (const layer of blind.layers) layer.wo.data.fill(0);
  const prompt = [1, 40, 41];
  const stop = { maxNewTokens: 128, eosTokenId: null };

  it("K = 2, r = 1/n: every other block is drafted behind its predecessor, promoted, and accepted whole in one forward", () => {
    const n = 16;
    const ar = arGreedy(config, blind, prompt, stop);
    const j = jacobi(config, blind, prompt, { ...stop, blockSize: n, init: "vocab" });
    const m = multiBlock(config, blind, prompt, { ...stop, blockSize: n, maxBlocks: 2, spawnRatio: 1 / n, poolSize: 0, init: "vocab" });
    expectSameTokens("multiBlock vs arGreedy (blind model)", m.tokens, ar.tokens);
    // Jacobi: each block is a random draft, then the update (all right): 2 forwards a block
    expect(j.stats.iterationsPerBlock).toEqual(Array(128 / n).fill(2));
    // MR: a block spawns behind each fresh one after its first forward, converges behind it, and is
    // verified whole when promoted; then the next block starts fresh (the RA has committed nothing yet)
    expect(m.stats.iterationsPerBlock).toEqual(Array(128 / n / 2).fill([2, 1]).flat());
    expect([m.stats.spawned, m.stats.promoted, m.stats.acceptedFrom.promoted]).toEqual([4, 4, 4 * (n - 1)]);
    expect(m.stats.forwards).toBe(12);
    expect(j.stats.forwards).toBe(16);
  });
});

describe("candidate pools", () => {
  it("rejection recycling: the last `size` sequences, newest first, the anchor's continuation laid over the draft", () => {
    const pool = makePool("recycling", 2);
    pool.record([5, 6, 7]);
    pool.record([9, 5, 8]);
    expect(pool.candidates([5, 1, 1, 1])).toEqual([[5, 8, 1, 1], [5, 6, 7, 1]]);
    pool.record([3, 3]);                                                   // evicts [5, 6, 7], the oldest
    expect(pool.candidates([5, 1, 1, 1])).toEqual([[5, 8, 1, 1]]);
    expect(pool.candidates([5, 8, 1, 1])).toEqual([]);                     // equal to the draft: not a candidate 
    expect(pool.candidates([4, 1])).toEqual([]);                           // the anchor occurs nowhere
    expect(makePool("recycling", 0).candidates([5, 1])).toEqual([]);
  });

  it("n-gram pool: every suffix under its first token, each key keeps its `size` most recently used", () => {
    const pool = makePool("ngram", 2);
    pool.record([5, 6, 7]);                                                // 5 -> [5,6,7]; 6 -> [6,7]
    expect(pool.candidates([6, 0, 0, 0])).toEqual([[6, 7, 0, 0]]);
    pool.record([5, 8]);
    pool.record([5, 9]);                                                   // key 5 is full: [5,6,7] (least recently used) goes
    expect(pool.candidates([5, 0, 0])).toEqual([[5, 9, 0], [5, 8, 0]]);
    pool.used([5, 8, 0]);                                                  // [5,8] is now the most recently used
    pool.record([5, 4]);                                                   // evicts [5,9]
    expect(pool.candidates([5, 0, 0])).toEqual([[5, 4, 0], [5, 8, 0]]);
  });

  it("candidates start with the anchor, are distinct, differ from the draft and have its width", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("recycling" as const, "ngram" as const), fc.integer({ min: 0, max: 8 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }),
        (kind, size, recorded, draft) => {
          const pool = makePool(kind, size);
          recorded.forEach((r) => pool.record(r));
          const rows = pool.candidates(draft);
          expect(rows.length).toBeLessThanOrEqual(size);
          const keys = rows.map((r) => r.join(","));
          expect(new Set(keys).size).toBe(rows.length);
          expect(keys).not.toContain(draft.join(","));
          for (const r of rows) expect([r.length, r[0]]).toEqual([draft.length, draft[0]]);
        },
      ),
    );
  });
});

describe("options", () => {
  it("has the paper's defaults: n = 64, K = 2, r = 0.85, pool 4", () => {
    const o = resolveMultiBlockOptions({ maxNewTokens: 1 }, "multiBlock");
    expect([o.blockSize, o.maxBlocks, o.spawnRatio, o.poolSize, o.poolKind, o.lookaheadStartRatio, o.maxIterations, o.sampling])
      .toEqual([64, 2, 0.85, 4, "recycling", 0, 64, null]);
  });

  it.each([
    [{ blockSize: 0 }, "multiBlock: blockSize must be a positive integer, got 0"],
    [{ maxBlocks: 1.5 }, "multiBlock: maxBlocks must be a positive integer, got 1.5"],
    [{ spawnRatio: 0 }, "multiBlock: spawnRatio must be a number in (0, 1], got 0"],
    [{ spawnRatio: 1.2 }, "multiBlock: spawnRatio must be a number in (0, 1], got 1.2"],
    [{ poolSize: -1 }, "multiBlock: poolSize must be a non-negative integer, got -1"],
    [{ poolKind: "lru" }, 'multiBlock: poolKind must be one of "recycling", "ngram", got "lru"'],
    [{ lookaheadStartRatio: 2 }, "multiBlock: lookaheadStartRatio must be a number in [0, 1], got 2"],
    [{ temperature: -1 }, "multiBlock: temperature must be a finite number >= 0, got -1"],
    [{ topK: 3 }, "multiBlock: topK and topP shape a sampling distribution; they need a temperature > 0"],
  ])("rejects %o", (bad, message) => {
    const params = initParams(PRESETS.tiny, { seed: 1 });
    expect(() => multiBlock(PRESETS.tiny, params, [1, 2], { maxNewTokens: 4, ...(bad as object) })).toThrow(message);
  });
});
