/**
 * The suite every decoder must pass: a table of decoders, each run through the same properties against
 * the AR greedy oracle (`arGreedyReference`). A new decoder joins by adding one row to `DECODERS`.
 *
 * Properties, for random tiny untrained models (GQA, tied embeddings, q/k/v bias, small and large
 * vocabularies), random prompts (some ending near the context limit), block sizes 1..32, every draft
 * initialisation, budgets that are not multiples of the block size, multi-block's K ∈ {1, 2, 3},
 * r ∈ (0, 1] and pools of 0-8 entries of both kinds, and EOS ids picked from the AR output so that
 * generation ends mid-block or at the very first token:
 * - the tokens equal the oracle's exactly;
 * - every decode forward commits at least one token and at most what the decoder can verify at once;
 * - the counts are consistent (committed tokens = output length, token positions ≥ forwards);
 * - the decode stops for the oracle's reason (EOS, the budget or the context), and the oracle's reason is
 *   the one its output shows; the sampled decoders say theirs by the same rule.
 *
 * And the suite itself must be able to fail: decoders with a planted bug (a forgotten KV rollback, an
 * unverified token committed, a winning multi-block candidate whose KV rows are not kept) are run
 * through the same equality property and must be caught.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { generationBudget, makeStats, stopReason, type DecodeStats, type StopReason } from "../src/decoding/acceptance.ts";
import { arGreedy, arGreedyReference } from "../src/decoding/greedy.ts";
import { jacobiReference } from "../src/decoding/jacobi-reference.ts";
import { jacobi, jacobiIteration } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { arSample } from "../src/decoding/sampling.ts";
import { KVCache } from "../src/model/cache.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { cpuRunner, type ModelRunner } from "../src/model/runner.ts";
import { forward } from "../src/model/transformer.ts";
import { argmax } from "../src/tensor/ops.ts";
import { MULTIBLOCK_VARIANTS, caseArb, describeCase, type DecodeCase } from "./helpers/decoding.ts";
import { expectSameTokens } from "./helpers/models.ts";

// ---------------------------------------------------------------- the decoders

/** A decoder under test: how to call it on a case, and how many tokens one of its forwards can commit. */
interface DecoderUnderTest {
  readonly name: string;
  readonly decode: (c: DecodeCase) => { tokens: number[]; stats: DecodeStats };
  /** The most tokens one decode forward can verify and commit. */
  readonly maxPerForward: (c: DecodeCase) => number;
}

const DECODERS: readonly DecoderUnderTest[] = [
  {
    name: "arGreedy (KV cache)",
    decode: (c) => arGreedy(c.config, c.params, c.prompt, c),
    maxPerForward: () => 1,
  },
  {
    name: "jacobi, block mode",
    decode: (c) => jacobi(c.config, c.params, c.prompt, { ...c, mode: "block" }),
    maxPerForward: (c) => c.blockSize,
  },
  {
    name: "jacobi, running-window mode",
    decode: (c) => jacobi(c.config, c.params, c.prompt, { ...c, mode: "window" }),
    maxPerForward: (c) => c.blockSize,
  },
  {
    name: "jacobiReference (full recompute)",
    decode: (c) => jacobiReference(c.config, c.params, c.prompt, c),
    maxPerForward: (c) => c.blockSize,
  },
  ...["multiBlock, rejection-recycling pool", "multiBlock, n-gram pool", "multiBlock, K = 3 spawning early"].map((name, i) => ({
    name,
    decode: (c: DecodeCase) => multiBlock(c.config, c.params, c.prompt, { ...c, ...MULTIBLOCK_VARIANTS[i](c) }),
    maxPerForward: (c: DecodeCase) => c.blockSize,
  })),
];

// ---------------------------------------------------------------- the properties

/** The decoder's tokens equal the AR greedy oracle's, exactly. */
function equalsArGreedy(decoder: DecoderUnderTest): fc.IPropertyWithHooks<[DecodeCase]> {
  return fc.property(caseArb, (c) => {
    const expected = arGreedyReference(c.config, c.params, c.prompt, c).tokens;
    expectSameTokens(`${decoder.name} vs arGreedyReference (${describeCase(c)})`, decoder.decode(c).tokens, expected);
  });
}

describe.each(DECODERS)("$name", (decoder) => {
  it("equals AR greedy (arGreedyReference) token for token", () => {
    fc.assert(equalsArGreedy(decoder), { numRuns: 100 });
  });

  it("every decode forward commits at least one token, and at most what it can verify", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { tokens, stats } = decoder.decode(c);
        const label = describeCase(c);
        expect(stats.committedTokens, label).toBe(tokens.length);
        expect(stats.forwards, label).toBeLessThanOrEqual(stats.committedTokens);
        expect(stats.committedTokens, label).toBeLessThanOrEqual(stats.forwards * decoder.maxPerForward(c));
        expect(stats.tokenPositions, label).toBeGreaterThanOrEqual(stats.forwards);
        expect(stats.prefillForwards, label).toBe(tokens.length === 0 ? 0 : 1);
        expect(stats.tokensPerForward, label).toBe(stats.forwards === 0 ? 0 : tokens.length / stats.forwards);
      }),
      { numRuns: 30 },
    );
  });

  it("stops for the same reason as AR greedy (arGreedyReference): EOS, the budget or the context", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const expected = arGreedyReference(c.config, c.params, c.prompt, c).stats.stopReason;
        expect(decoder.decode(c).stats.stopReason, `${decoder.name} (${describeCase(c)})`).toBe(expected);
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------- why a decode stopped

/** The reason an output shows, by the definition: it ends in EOS, else it holds all it was asked for, else it filled the context. */
function reasonShown(c: Pick<DecodeCase, "config" | "prompt" | "maxNewTokens" | "eosTokenId">, tokens: readonly number[]): StopReason {
  if (c.eosTokenId !== null && tokens.at(-1) === c.eosTokenId) return "eos";
  if (tokens.length === c.maxNewTokens) return "budget";
  expect(c.prompt.length + tokens.length, "a decode that stops short of its budget without EOS fills the context").toBe(c.config.maxPositions);
  return "context";
}

/** The sampling decoders: the same stop rule, on tokens that are samples rather than AR greedy's. */
const SAMPLERS: readonly { readonly name: string; readonly decode: (c: DecodeCase) => { tokens: number[]; stats: DecodeStats } }[] = [
  { name: "arSample", decode: (c) => arSample(c.config, c.params, c.prompt, { ...c, temperature: 1 }) },
  { name: "jacobi sampling, block mode", decode: (c) => jacobi(c.config, c.params, c.prompt, { ...c, temperature: 1, mode: "block" }) },
  { name: "jacobi sampling, running window", decode: (c) => jacobi(c.config, c.params, c.prompt, { ...c, temperature: 1, mode: "window" }) },
  { name: "multiBlock sampling", decode: (c) => multiBlock(c.config, c.params, c.prompt, { ...c, ...MULTIBLOCK_VARIANTS[0](c), temperature: 1 }) },
];

describe("why a decode stopped (stats.stopReason)", () => {
  it("the oracle's reason is the one its output shows: EOS at the end, else all maxNewTokens, else a full context", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { tokens, stats } = arGreedyReference(c.config, c.params, c.prompt, c);
        expect(stats.stopReason, describeCase(c)).toBe(reasonShown(c, tokens));
      }),
      { numRuns: 100 },
    );
  });

  it.each(SAMPLERS)("$name says its reason by the same rule", ({ name, decode }) => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { tokens, stats } = decode(c);
        expect(stats.stopReason, `${name} (${describeCase(c)})`).toBe(reasonShown(c, tokens));
      }),
      { numRuns: 30 },
    );
  });

  it("a prompt one short of the context gives one token and \"context\" for every decoder; a short one gives \"budget\"", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 5, std: 0.5 });
    const long = Array.from({ length: config.maxPositions - 1 }, (_, i) => 3 + (i % 40));
    const base = { config, params, modelSeed: 5, eosTokenId: null, blockSize: 4, init: "context" as const, seed: 0, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4, poolKind: "recycling" as const };
    for (const { name, decode } of [...DECODERS, ...SAMPLERS]) {
      const cut = decode({ ...base, prompt: long, maxNewTokens: 10 });
      expect(cut.tokens.length, name).toBe(1);
      expect(cut.stats.stopReason, name).toBe("context");
      const full = decode({ ...base, prompt: [1, 7, 8], maxNewTokens: 10 });
      expect(full.tokens.length, name).toBe(10);
      expect(full.stats.stopReason, name).toBe("budget");
    }
  });
});

// ---------------------------------------------------------------- the suite can fail

/** A bug to plant in a Jacobi decoder. */
type Bug = "none" | "forgetRollback" | "unverifiedAnchor";

/**
 * Block-mode Jacobi with pad drafts, built on the real `jacobiIteration`, with a planted bug:
 * - `forgetRollback`: the cache's `truncate` does nothing, so the rejected drafts' keys and values stay
 *   (the cache is given room for them, so the bug shows as wrong tokens rather than an overflow);
 * - `unverifiedAnchor`: after a partial acceptance the next draft starts with the first rejected draft
 *   token instead of the model's token there (the anchor) — and a draft's first token is always committed.
 * With `none` it is a correct decoder, so each failure below is caused by its bug alone.
 */
function plantedBug(bug: Bug): DecoderUnderTest {
  class ForgetfulCache extends KVCache {
    override truncate(): void {}
  }
  const decode = (c: DecodeCase): { tokens: number[]; stats: DecodeStats } => {
    const budget = generationBudget(c.config, c.prompt, c, "plantedBug");
    const out: number[] = [];
    if (budget === 0) return { tokens: out, stats: makeStats(0, 0, 0, 0, stopReason(out, c.eosTokenId, c.maxNewTokens)) };
    const roomy = { ...c.config, maxPositions: c.config.maxPositions * (c.blockSize + 1) };
    const cache = bug === "forgetRollback" ? new ForgetfulCache(roomy) : new KVCache(roomy);
    let draft = [argmax(forward(roomy, c.params, c.prompt, { cache }))[c.prompt.length - 1]];
    for (;;) {
      while (draft.length < Math.min(c.blockSize, budget - out.length)) draft.push(c.config.padTokenId!);
      const { accepted, next } = jacobiIteration(roomy, c.params, cache, draft, c.eosTokenId);
      out.push(...draft.slice(0, accepted));
      if (out.length === budget || out[out.length - 1] === c.eosTokenId) break;
      draft = bug === "unverifiedAnchor" && accepted < draft.length ? [draft[accepted], ...next.slice(1)] : next;
    }
    return { tokens: out, stats: makeStats(0, 0, out.length, 0, stopReason(out, c.eosTokenId, c.maxNewTokens)) };
  };
  return { name: `jacobi with planted bug "${bug}"`, decode, maxPerForward: (c) => c.blockSize };
}

describe("the equality property catches broken decoders", () => {
  it("the planted-bug decoder without a bug passes (so each failure below is its bug's)", () => {
    fc.assert(equalsArGreedy(plantedBug("none")), { numRuns: 40 });
  });

  for (const bug of ["forgetRollback", "unverifiedAnchor"] as const) {
    it(`the bug "${bug}" fails equality with AR greedy, with a message that shows the first wrong token`, () => {
      const result = fc.check(equalsArGreedy(plantedBug(bug)), { numRuns: 200, seed: 1 });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(/vs arGreedyReference \(.*\): (token \d+ is \d+, expected \d+; context|\d+ tokens, expected \d+)/);
    });
  }

  it('multi-block with a planted bug: a winning candidate\'s KV rows are not moved ("keepRows" truncates) — caught', () => {
    const spy = vi.spyOn(KVCache.prototype, "keepRows").mockImplementation(function (this: KVCache, length: number, _from: number, count: number) {
      this.truncate(length + count);                                      // keeps the RA draft's rows instead
    });
    try {
      const result = fc.check(equalsArGreedy(DECODERS.find((d) => d.name === "multiBlock, rejection-recycling pool")!), { numRuns: 200, seed: 1 });
      expect(spy).toHaveBeenCalled();
      expect(result.failed).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("every decoder releases the cache it made", () => {
  it("arGreedy, arSample, jacobi (block and running window) and multiBlock call release once, also when a forward throws", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 5, std: 0.5 });
    const inner = cpuRunner(config, params);
    let made = 0, released = 0, failAt = -1, forwards = 0;
    const runner: ModelRunner = {
      ...inner,
      newCache: () => {
        made++;
        return Object.assign(inner.newCache(), { release: () => { released++; } });
      },
      forward: (tokens, options) => {
        if (forwards++ === failAt) throw new Error("planted failure");
        return inner.forward(tokens, options);
      },
    };
    const stop = { maxNewTokens: 6, eosTokenId: null, runner };
    const decodes = [
      () => arGreedy(config, params, [1, 7, 8], stop),
      () => arSample(config, params, [1, 7, 8], { ...stop, temperature: 1, seed: 3 }),
      () => jacobi(config, params, [1, 7, 8], { ...stop, blockSize: 3 }),
      () => jacobi(config, params, [1, 7, 8], { ...stop, blockSize: 3, mode: "window" }),
      () => multiBlock(config, params, [1, 7, 8], { ...stop, blockSize: 3, maxBlocks: 2 }),
    ];
    for (const decode of decodes) {
      decode();
      expect(released).toBe(made);
      forwards = 0;
      failAt = 2;                                                  // fails mid-decode, after the prefill
      expect(decode).toThrow(/planted failure/);
      failAt = -1;
      expect(released).toBe(made);
    }
    expect(made).toBe(2 * decodes.length);
  });
});
