/**
 * What only Jacobi decoding promises, beyond the shared decoder suite (`decoders.spec.ts`): the
 * acceptance rule, the cache after every iteration, the per-block forward bound, trajectories (against
 * the naive reference), a speedup that can be proven, and clear errors for bad options.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodingError, acceptedPrefixLength, generationBudget, keepThroughEos } from "../src/decoding/acceptance.ts";
import { arGreedy, arGreedyReference } from "../src/decoding/greedy.ts";
import { jacobiReference } from "../src/decoding/jacobi-reference.ts";
import { DRAFT_INITS, draftTokens } from "../src/decoding/draft.ts";
import { jacobi, jacobiIteration } from "../src/decoding/jacobi.ts";
import { checkTrajectory, firstMismatch } from "../src/decoding/trajectory.ts";
import { JACOBI_MODES, type JacobiOptions, type JacobiStep } from "../src/decoding/types.ts";
import { KVCache } from "../src/model/cache.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, type Params } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { argmax } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { caseArb, describeCase } from "./helpers/decoding.ts";
import { expectBitIdentical, expectSameTokens } from "./helpers/models.ts";

// ---------------------------------------------------------------- the acceptance rule

describe("acceptedPrefixLength", () => {
  it("keeps the anchor, then each draft token while it equals the model's token before it, cut after EOS", () => {
    expect(acceptedPrefixLength([7, 8, 9, 4], [8, 9, 5, 6], null)).toBe(3);
    expect(acceptedPrefixLength([7, 2, 9, 4], [2, 9, 4, 6], 2)).toBe(2);
    expect(acceptedPrefixLength([2, 8, 9], [8, 9, 1], 2)).toBe(1);          // EOS as the anchor: nothing after it
    expect(acceptedPrefixLength([7, 5, 5], [6, 5, 5], null)).toBe(1);       // the anchor alone
    expect(acceptedPrefixLength([7], [], null)).toBe(1);
    expect(acceptedPrefixLength([7, 8, 2], [8, 3, 0], 2)).toBe(2);          // EOS past the first mismatch does not count
  });

  it("characterisation: the longest verified prefix, never past the first EOS", () => {
    const token = fc.integer({ min: 0, max: 3 });
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 12 }), fc.array(token, { minLength: 12, maxLength: 12 }), fc.option(token, { nil: null }), (draft, greedy, eos) => {
        const k = acceptedPrefixLength(draft, greedy, eos);
        expect(k).toBeGreaterThanOrEqual(1);
        expect(k).toBeLessThanOrEqual(draft.length);
        for (let i = 1; i < k; i++) expect(draft[i]).toBe(greedy[i - 1]);            // everything kept is verified
        for (let i = 0; i < k - 1; i++) expect(draft[i]).not.toBe(eos);               // nothing kept follows an EOS
        const stoppedAtEos = eos !== null && draft[k - 1] === eos;
        if (k < draft.length && !stoppedAtEos) expect(draft[k]).not.toBe(greedy[k - 1]); // and it is the longest
      }),
      { numRuns: 300 },
    );
  });

  it("rejects an empty draft and too few greedy tokens", () => {
    expect(() => acceptedPrefixLength([], [], null)).toThrow(DecodingError);
    expect(() => acceptedPrefixLength([1, 2, 3], [2], null)).toThrow(/acceptedPrefixLength: expected at least 2 greedy tokens for a draft of 3, got 1/);
  });
});

// ---------------------------------------------------------------- one iteration

describe("jacobiIteration", () => {
  const config = PRESETS.tiny;
  const params = initParams(config, { seed: 4, std: 0.5 });
  const prompt = [1, 40, 41, 42];
  const ar = arGreedyReference(config, params, prompt, { maxNewTokens: 9, eosTokenId: null }).tokens;

  it("accepts a draft holding the AR continuation whole, in one forward, and names the token after it", () => {
    const cache = new KVCache(config);
    forward(config, params, prompt, { cache });
    const { accepted, next } = jacobiIteration(config, params, cache, ar.slice(0, 8), null);
    expect(accepted).toBe(8);
    expect(next).toEqual([ar[8]]);
    expect(cache.length).toBe(prompt.length + 8);
  });

  it("after a wrong draft token: keeps the verified prefix, rolls the cache back to it, and corrects the next token", () => {
    const cache = new KVCache(config);
    forward(config, params, prompt, { cache });
    const wrong = (ar[3] + 1) % config.vocabSize;
    const draft = [...ar.slice(0, 3), wrong, wrong, wrong];
    const { accepted, next, greedy } = jacobiIteration(config, params, cache, draft, null);
    expect(accepted).toBe(3);
    expect(cache.length).toBe(prompt.length + 3);                              // the rollback
    expect(next[0]).toBe(ar[3]);                                               // the right token after the prefix
    expect(next).toEqual([greedy[2], greedy[3], greedy[4]]);                   // then the Jacobi update of the tail
  });
});

// ---------------------------------------------------------------- every iteration, observed

/** Runs `jacobi` and checks, after every iteration, the cache against a fresh forward of the committed text. */
function checkEveryIteration(config: ModelConfig, params: Params, prompt: number[], options: JacobiOptions, label: string): void {
  const committed: number[] = [];
  const budget = generationBudget(config, prompt, options, "spec");
  const n = options.blockSize ?? 16;
  const onIteration = (step: JacobiStep): void => {
    expect(step.committedBefore, label).toBe(committed.length);
    expect(step.accepted, label).toBeGreaterThanOrEqual(1);                   // every forward commits a token
    expect(step.draft.length, label).toBeLessThanOrEqual(Math.min(n, budget - committed.length));
    if (options.mode === "window") expect(step.draft.length, label).toBe(Math.min(n, budget - committed.length));
    else expect(step.iteration, label).toBeLessThanOrEqual(n);               // a block takes at most n forwards
    committed.push(...step.draft.slice(0, step.accepted));
    const text = [...prompt, ...committed];
    expect(step.cache.length, label).toBe(text.length);                      // the cache holds the committed text...
    const fresh = new KVCache(config);
    forward(config, params, text, { cache: fresh });
    const rows = text.length * fresh.width;
    for (let l = 0; l < config.numLayers; l++) {                              // ...and exactly what a fresh forward gives
      const held = step.cache.read(l);
      expectBitIdentical(`${label}: keys of layer ${l} after iteration ${step.iteration}`, held.keys, fresh.keys[l].subarray(0, rows), fresh.width);
      expectBitIdentical(`${label}: values of layer ${l} after iteration ${step.iteration}`, held.values, fresh.values[l].subarray(0, rows), fresh.width);
    }
  };
  const result = jacobi(config, params, prompt, { ...options, onIteration });
  expect(result.tokens, label).toEqual(committed);
}

describe("after every iteration, the cache is the committed text and nothing else", () => {
  for (const mode of JACOBI_MODES) {
    it(`${mode} mode: length and contents equal a fresh forward of prompt + committed tokens`, () => {
      fc.assert(
        fc.property(caseArb, (c) => checkEveryIteration(c.config, c.params, c.prompt, { ...c, mode }, describeCase(c))),
        { numRuns: 20 },
      );
    });
  }
});

describe("blocks", () => {
  it("each block takes at most n forwards (and at most as many as it has tokens); the blocks account for every forward", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { tokens, stats } = jacobi(c.config, c.params, c.prompt, c);
        const label = describeCase(c);
        const sizes = Array.from({ length: stats.iterationsPerBlock.length }, (_, b) => Math.min(c.blockSize, tokens.length - b * c.blockSize));
        stats.iterationsPerBlock.forEach((forwards, b) => expect(forwards, label).toBeLessThanOrEqual(sizes[b]));
        expect(stats.iterationsPerBlock.reduce((a, b) => a + b, 0), label).toBe(stats.forwards);
        expect(stats.iterationsPerBlock.length, label).toBe(Math.ceil(tokens.length / c.blockSize));
      }),
      { numRuns: 60 },
    );
  });

  it("the per-block iteration cap never changes the output", () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 32 }), (c, cap) => {
        const maxIterations = Math.min(cap, c.blockSize);
        const { tokens, stats } = jacobi(c.config, c.params, c.prompt, { ...c, maxIterations });
        expectSameTokens(`jacobi with maxIterations ${maxIterations} (${describeCase(c)})`, tokens, arGreedy(c.config, c.params, c.prompt, c).tokens);
        stats.iterationsPerBlock.forEach((forwards) => expect(forwards).toBeLessThanOrEqual(maxIterations));
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------- trajectories

describe("trajectories", () => {
  it("equal the naive reference's iterates; last state = fixed point = the AR tokens of the block; convergence only moves forward", () => {
    fc.assert(
      fc.property(caseArb, fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }), (c, cap) => {
        const maxIterations = cap === undefined ? undefined : Math.min(cap, c.blockSize);
        const label = `${describeCase(c)} maxIterations=${maxIterations}`;
        const fast = jacobi(c.config, c.params, c.prompt, { ...c, maxIterations, recordTrajectory: true });
        const naive = jacobiReference(c.config, c.params, c.prompt, { ...c, maxIterations });
        expect(fast.trajectory, label).toEqual(naive.trajectory);
        expect(fast.stats.iterationsPerBlock, label).toEqual(naive.stats.iterationsPerBlock);
        expect(fast.stats.forwards, label).toBe(naive.stats.forwards);

        const trajectory = checkTrajectory(fast.trajectory, label);
        const ar = arGreedyReference(c.config, c.params, c.prompt, c).tokens;
        let offset = 0;
        trajectory.blocks.forEach((block, b) => {
          const m = block.fixedPoint.length;
          expect(block.context, `${label}: block ${b} context`).toEqual([...c.prompt, ...ar.slice(0, offset)]);
          expect(block.fixedPoint, `${label}: block ${b} fixed point`).toEqual(ar.slice(offset, offset + m));
          expect(block.states[block.states.length - 1], `${label}: block ${b} last state`).toEqual(block.fixedPoint);
          expect(block.states.length, label).toBe(fast.stats.iterationsPerBlock[b]);
          const converged = block.states.map((s) => firstMismatch(s, block.fixedPoint));
          converged.forEach((f, j) => expect(f, `${label}: block ${b} state ${j} converged to ${converged}`).toBeGreaterThan(j === 0 ? 0 : converged[j - 1]));
          if (maxIterations === undefined && b < trajectory.blocks.length - 1) expect(m, label).toBe(c.blockSize);
          offset += m;
        });
        expect(offset, label).toBe(ar.length);
      }),
      { numRuns: 60 },
    );
  });

  it("are only recorded in block mode, and the reference has no running-window mode", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 1 });
    expect(() => jacobi(config, params, [1], { maxNewTokens: 4, mode: "window", recordTrajectory: true })).toThrow(/jacobi: recordTrajectory needs mode "block"/);
    expect(() => jacobiReference(config, params, [1], { maxNewTokens: 4, mode: "window" } as JacobiOptions)).toThrow(/jacobiReference: only mode "block" has a reference, got "window"/);
  });
});

// ---------------------------------------------------------------- a speedup that can be proven

/**
 * A model whose prediction does not depend on its input: every token embeds to the same vector and
 * every attention output projection is zero, so the residual stream is the same vector at every
 * position and the logits are bit-identical everywhere. After any text it predicts the same token t.
 */
function inputIndependentModel(config: ModelConfig, seed: number): Params {
  const params = initParams(config, { seed, std: 0.5 });
  const C = config.hiddenSize;
  for (let v = 1; v < config.vocabSize; v++) params.embed.data.copyWithin(v * C, 0, C);
  for (const layer of params.layers) layer.wo.data.fill(0);
  return params;
}

describe("a provable speedup: a model that ignores its input", () => {
  const config = { ...PRESETS.tiny, maxPositions: 160 };

  it("predicts one token after any text (the premise)", () => {
    const params = inputIndependentModel(config, 3);
    const rows = argmax(forward(config, params, [1, 5, 77, 3, 3, 90, 12]));
    expect(new Set(rows).size).toBe(1);
  });

  it("Jacobi finishes each block in at most 2 forwards, so TPF ≥ n/2 (both modes, every draft initialisation)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...DRAFT_INITS), fc.constantFrom(...JACOBI_MODES), fc.integer({ min: 0, max: 1000 }),
        (modelSeed, n, blocks, init, mode, seed) => {
          const params = inputIndependentModel(config, modelSeed);
          const prompt = [1, 40, 41, 42];
          const maxNewTokens = n * blocks;
          const options = { maxNewTokens, eosTokenId: null, blockSize: n, init, mode, seed };
          const { tokens, stats } = jacobi(config, params, prompt, options);
          const label = JSON.stringify(options);
          expectSameTokens(label, tokens, arGreedy(config, params, prompt, options).tokens);
          expect(stats.forwards, label).toBeLessThanOrEqual(2 * blocks);
          expect(stats.tokensPerForward, label).toBeGreaterThanOrEqual(n / 2);
          if (mode === "block") stats.iterationsPerBlock.forEach((f) => expect(f, label).toBeLessThanOrEqual(2));
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------- drafts and options

describe("draft initialisation", () => {
  const config = PRESETS.tiny;
  it("draws from the text, the vocabulary, the last token or the pad token", () => {
    const text = [1, 40, 41, 40];
    expect(draftTokens("pad", 3, text, 9, new Rng(0), config)).toEqual([0, 0, 0]);
    expect(draftTokens("repeat-last", 3, text, 9, new Rng(0), config)).toEqual([9, 9, 9]);
    expect(draftTokens("context", 50, text, 9, new Rng(0), config).every((t) => text.includes(t))).toBe(true);
    expect(new Set(draftTokens("context", 50, text, 9, new Rng(0), config))).toEqual(new Set([1, 40, 41]));
    const vocab = draftTokens("vocab", 200, text, 9, new Rng(0), config);
    expect(vocab.every((t) => Number.isInteger(t) && t >= 0 && t < config.vocabSize)).toBe(true);
    expect(new Set(vocab).size).toBeGreaterThan(50);
  });

  it("is reproducible from the seed, and only speed depends on it", () => {
    const params = initParams({ ...config, vocabSize: 100 }, { seed: 2, std: 0.5 });
    const run = (seed: number) => jacobi(config, params, [1, 40], { maxNewTokens: 60, eosTokenId: null, blockSize: 8, init: "vocab", seed });
    expect(run(5)).toEqual(run(5));
    expect(run(6).tokens).toEqual(run(5).tokens);
  });
});

describe("bad options are clear errors", () => {
  const config = PRESETS.tiny;
  const params = initParams(config, { seed: 1 });
  const cases: [string, Partial<JacobiOptions>, RegExp][] = [
    ["block size 0", { blockSize: 0 }, /^jacobi: blockSize must be a positive integer, got 0$/],
    ["negative block size", { blockSize: -3 }, /^jacobi: blockSize must be a positive integer, got -3$/],
    ["fractional block size", { blockSize: 2.5 }, /^jacobi: blockSize must be a positive integer, got 2.5$/],
    ["NaN block size", { blockSize: NaN }, /^jacobi: blockSize must be a positive integer, got null$/],
    ["block size as a string", { blockSize: "4" as unknown as number }, /^jacobi: blockSize must be a positive integer, got "4"$/],
    ["unknown init", { init: "random" as never }, /^jacobi: init must be one of "context", "vocab", "repeat-last", "pad", got "random"$/],
    ["unknown mode", { mode: "diagonal" as never }, /^jacobi: mode must be one of "block", "window", got "diagonal"$/],
    ["cap 0", { maxIterations: 0 }, /^jacobi: maxIterations must be a positive integer, got 0$/],
    ["cap in running-window mode", { mode: "window", maxIterations: 3 }, /^jacobi: maxIterations is a per-block cap and has no meaning in mode "window"$/],
    ["fractional seed", { seed: 0.5 }, /^jacobi: seed must be an integer, got 0.5$/],
    ["negative budget", { maxNewTokens: -1 }, /^jacobi: maxNewTokens must be a non-negative integer, got -1$/],
  ];
  for (const [label, bad, message] of cases) {
    it(`${label}: DecodingError naming the option and value`, () => {
      const call = () => jacobi(config, params, [1, 40], { maxNewTokens: 4, ...bad });
      expect(call).toThrow(DecodingError);
      expect(call).toThrow(message);
    });
  }

  it("the reference checks the same options", () => {
    expect(() => jacobiReference(config, params, [1], { maxNewTokens: 4, blockSize: 0 })).toThrow(/^jacobiReference: blockSize must be a positive integer, got 0$/);
  });

  it("a prompt past the context, or empty, is rejected as for AR", () => {
    expect(() => jacobi(config, params, [], { maxNewTokens: 4 })).toThrow(/jacobi: the prompt must hold at least one token/);
    expect(() => jacobi(config, params, Array(129).fill(5), { maxNewTokens: 4 })).toThrow(/jacobi: the prompt has 129 tokens, more than the context length 128/);
  });
});

describe("the EOS rule is the shared one", () => {
  it("stops right after the first EOS, wherever it falls in a block", () => {
    const config = { ...PRESETS.tiny, vocabSize: 6 };
    const params = initParams(config, { seed: 11, std: 0.5 });
    const free = arGreedy(config, params, [1, 3], { maxNewTokens: 40, eosTokenId: null }).tokens;
    for (let at = 0; at < free.length; at++) {
      const eos = free[at];
      const expected = free.slice(0, keepThroughEos(free, eos));
      for (const blockSize of [1, 3, 7]) {
        expect(jacobi(config, params, [1, 3], { maxNewTokens: 40, eosTokenId: eos, blockSize }).tokens).toEqual(expected);
      }
    }
  });
});
