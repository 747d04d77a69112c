/**
 * Spec helpers for decoders: random decoding problems (a tiny untrained model, a prompt, a budget, an
 * EOS id, a block size, a draft initialisation, a seed) as a fast-check arbitrary, and their description
 * for failure messages.
 *
 * @module
 */
import fc from "fast-check";
import { arGreedy } from "../../src/decoding/greedy.ts";
import { DRAFT_INITS, type DraftInit } from "../../src/decoding/draft.ts";
import { POOL_KINDS, type PoolKind } from "../../src/decoding/recycling.ts";
import type { ModelConfig } from "../../src/model/config.ts";
import { initParams, type Params } from "../../src/model/params.ts";
import { tinyConfigArb } from "./models.ts";

// ---------------------------------------------------------------- the cases

/** One decoding problem, with every option any decoder in the table may use. */
export interface DecodeCase {
  readonly config: ModelConfig;
  readonly params: Params;
  /** The seed the weights were drawn from (std 0.5), to rebuild the model of a counterexample. */
  readonly modelSeed: number;
  readonly prompt: number[];
  readonly maxNewTokens: number;
  readonly eosTokenId: number | null;
  readonly blockSize: number;
  readonly init: DraftInit;
  readonly seed: number;
  /** Multi-block: K blocks in flight, 1..3. */
  readonly maxBlocks: number;
  /** Multi-block: the spawn ratio r in (0, 1]. */
  readonly spawnRatio: number;
  /** Multi-block: pool entries, 0..8. */
  readonly poolSize: number;
  /** Multi-block: the pool kind. */
  readonly poolKind: PoolKind;
}

/** A short description of a case, for failure messages. */
export function describeCase(c: DecodeCase): string {
  const { config: k } = c;
  return `model V=${k.vocabSize} C=${k.hiddenSize} H=${k.numHeads}/${k.numKeyValueHeads} layers=${k.numLayers}` +
    `${k.tieWordEmbeddings ? " tied" : ""}${k.attentionBias ? " bias" : ""} context=${k.maxPositions} weights-seed=${c.modelSeed}; ` +
    `prompt [${c.prompt.join(",")}] (${c.prompt.length}); maxNewTokens=${c.maxNewTokens} eos=${c.eosTokenId} ` +
    `n=${c.blockSize} init=${c.init} draft-seed=${c.seed} K=${c.maxBlocks} r=${c.spawnRatio} pool=${c.poolSize} ${c.poolKind}`;
}

/**
 * How the EOS id of a case is chosen: none, any id, or a token of the AR output that first occurs at (or
 * soon after) an index, so that generation ends there: index 0 makes EOS the very first generated token.
 */
type EosChoice = { kind: "none" } | { kind: "id"; id: number } | { kind: "ar"; index: number };

const eosChoiceArb: fc.Arbitrary<EosChoice> = fc.oneof(
  { arbitrary: fc.constant({ kind: "none" as const }), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 63 }).map((id) => ({ kind: "id" as const, id })), weight: 1 },
  { arbitrary: fc.constant({ kind: "ar" as const, index: 0 }), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 60 }).map((index) => ({ kind: "ar" as const, index })), weight: 3 },
);

/** Context length of the case models: room for several blocks after a short prompt. */
export const CONTEXT = 80;

/**
 * Random decoding problems (multi-block's K, r and pool are drawn too; other decoders ignore them). Small vocabularies make drafts right by chance, so multi-token acceptance,
 * partial acceptance and rollback are all exercised; V = 64 gives the untrained-model regime (TPF ≈ 1).
 */
export const caseArb: fc.Arbitrary<DecodeCase> = fc
  .record({
    config: fc.tuple(tinyConfigArb, fc.constantFrom(3, 4, 6, 64)).map(([c, V]) => ({ ...c, vocabSize: V, maxPositions: CONTEXT })),
    modelSeed: fc.integer({ min: 0, max: 1_000_000 }),
    promptLength: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 10 }), weight: 3 }, { arbitrary: fc.integer({ min: CONTEXT - 12, max: CONTEXT }), weight: 1 }),
    promptSeeds: fc.array(fc.nat(), { minLength: CONTEXT, maxLength: CONTEXT }),
    maxNewTokens: fc.integer({ min: 0, max: 70 }),
    eos: eosChoiceArb,
    blockSize: fc.integer({ min: 1, max: 32 }),
    init: fc.constantFrom(...DRAFT_INITS),
    seed: fc.integer({ min: 0, max: 1000 }),
    maxBlocks: fc.integer({ min: 1, max: 3 }),
    spawnRatio: fc.oneof(fc.constantFrom(1, 0.85, 0.5), fc.double({ min: 0.01, max: 1, noNaN: true })),
    poolSize: fc.integer({ min: 0, max: 8 }),
    poolKind: fc.constantFrom(...POOL_KINDS),
  })
  .map((r) => {
    const { config } = r;
    const params = initParams(config, { seed: r.modelSeed, std: 0.5 });
    const prompt = r.promptSeeds.slice(0, r.promptLength).map((s) => s % config.vocabSize);
    const base = {
      config, params, modelSeed: r.modelSeed, prompt, maxNewTokens: r.maxNewTokens, blockSize: r.blockSize, init: r.init, seed: r.seed,
      maxBlocks: r.maxBlocks, spawnRatio: r.spawnRatio, poolSize: r.poolSize, poolKind: r.poolKind,
    };
    const { eos } = r;
    let eosTokenId: number | null = null;
    if (eos.kind === "id") eosTokenId = eos.id % config.vocabSize;
    if (eos.kind === "ar") {
      const free = arGreedy(config, params, prompt, { maxNewTokens: r.maxNewTokens, eosTokenId: null }).tokens;
      // the first token at or after `index` that has not occurred before it, so the output ends there
      const from = Math.min(eos.index, free.length - 1);
      const first = free.findIndex((t, j) => j >= from && free.indexOf(t) === j);
      eosTokenId = first < 0 ? null : free[first];
    }
    const c: DecodeCase = { ...base, eosTokenId };
    return Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c) }); // counterexamples print short
  });

/**
 * The multi-block configurations of the shared suite, as option overrides of a case: each pool kind
 * with the case's K and r, and K = 3 with blocks spawned early (r halved), so that two blocks are often
 * drafted behind the real-active one.
 */
export const MULTIBLOCK_VARIANTS: readonly ((c: DecodeCase) => { maxBlocks?: number; spawnRatio?: number; poolKind: PoolKind })[] = [
  () => ({ poolKind: "recycling" }),
  () => ({ poolKind: "ngram" }),
  (c) => ({ maxBlocks: 3, spawnRatio: c.spawnRatio / 2, poolKind: c.poolKind }),
];
