/**
 * The options, results and per-iteration steps of the two parallel decoders, and how their options are
 * checked: what `jacobi` (`jacobi.ts`) and `multiBlock` (`multiblock.ts`) take and return. Kept apart so
 * that those files open with their algorithm, and so that the slow oracle (`jacobi-reference.ts`) shares
 * the Jacobi options without importing the decoder it checks.
 *
 * The words used here (defined in `jacobi.ts`'s header and docs/GLOSSARY.md): the *anchor* is the model's
 * token after the committed text, always right; a *draft* is what one forward verifies — the anchor, then
 * draft tokens (guesses); the *running window* is Jacobi's `mode: "window"`; `seed` is only ever the seed
 * of the random generator.
 *
 * What it is not: an algorithm. Nothing here decodes.
 *
 * Paper: §2.1 (n), §3.2 and Algorithm 1 (K, r, the pool); docs/ALGORITHM.md §1, §4.
 *
 * @module
 */
import type { RunnerOption, SequenceCache } from "../model/runner.ts";
import { checkOption, DecodingError, oneOf, positiveIntegerOption, type DecodeStats, type StopOptions } from "./acceptance.ts";
import { DRAFT_INITS, type DraftInit } from "./draft.ts";
import { POOL_KINDS, type PoolKind } from "./recycling.ts";
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from "./sampling.ts";
import type { GenerationResult } from "./greedy.ts";
import type { Trajectory } from "./trajectory.ts";

// ---------------------------------------------------------------- Jacobi: options

/**
 * Block by block, each to its fixed point (`'block'`, the paper's Eq. 4), or a running window of n
 * tokens in flight (`'window'`, the reference serving engine's variant, docs/ALGORITHM.md §1).
 *
 * @category Decoding
 */
export type JacobiMode = "block" | "window";

/**
 * Every {@link JacobiMode}.
 *
 * @category Decoding
 */
export const JACOBI_MODES: readonly JacobiMode[] = ["block", "window"];

/**
 * Options of `jacobi`.
 *
 * @category Decoding
 */
export interface JacobiOptions extends StopOptions, SamplingOptions, RunnerOption {
  /** n, tokens per block (or in the running window); default 16. */
  readonly blockSize?: number;
  /** How draft tokens are first guessed; default `'context'`. */
  readonly init?: DraftInit;
  /** Seed of the draft generator (and of the sampling stream); default 0. Equal seeds give equal runs. */
  readonly seed?: number;
  /** `'block'` (default) or `'window'` (the running window). */
  readonly mode?: JacobiMode;
  /**
   * Block mode: most forwards per block, a safety net; default n. A block always converges within n
   * iterations (each one commits at least one token), so the default never fires. A smaller cap ends a
   * block early at the tokens committed so far and starts the next block there — the output is the same,
   * only the speed and the trajectory's block boundaries change.
   */
  readonly maxIterations?: number;
  /** Block mode: also return the {@link Trajectory} (every state of every block). Default false. */
  readonly recordTrajectory?: boolean;
  /** Called after every iteration, for tracing and tests. It may read `step.cache` but must not change it. */
  readonly onIteration?: (step: JacobiStep) => void;
}

/**
 * What both parallel decoders take, with the defaults filled in and checked: n, the draft initialisation,
 * the seed, the per-block cap, and the sampling distribution's shape (null for greedy decoding).
 *
 * @category Decoding
 */
export type ResolvedDraftOptions = Required<Pick<JacobiOptions, "blockSize" | "init" | "seed" | "maxIterations">> & {
  /** Null for greedy decoding, else the sampling distribution's shape. */
  readonly sampling: ResolvedSampling | null;
};

/** Fills in and checks the options both decoders share; `defaultBlockSize` is the decoder's n. */
function resolveDraftOptions(options: JacobiOptions | MultiBlockOptions, where: string, defaultBlockSize: number): ResolvedDraftOptions {
  const blockSize = positiveIntegerOption(where, "blockSize", options.blockSize ?? defaultBlockSize);
  return {
    blockSize,
    init: oneOf(where, "init", options.init ?? "context", DRAFT_INITS),
    seed: checkOption(where, "seed", options.seed ?? 0, Number.isSafeInteger, "an integer"),
    maxIterations: positiveIntegerOption(where, "maxIterations", options.maxIterations ?? blockSize),
    sampling: resolveSampling(options, where),
  };
}

/**
 * {@link JacobiOptions} with their defaults filled in and checked.
 *
 * @category Decoding
 */
export type ResolvedJacobiOptions = ResolvedDraftOptions & Required<Pick<JacobiOptions, "mode">>;

/**
 * Fills in defaults and checks every Jacobi option.
 *
 * @param where - the decoder's name, for error messages
 * @throws DecodingError naming the option, its value and what was expected
 * @example
 * ```ts
 * resolveJacobiOptions({ maxNewTokens: 8 }, "jacobi");
 * // { blockSize: 16, init: "context", seed: 0, maxIterations: 16, sampling: null, mode: "block" }
 * resolveJacobiOptions({ maxNewTokens: 8, blockSize: 0 }, "jacobi"); // throws: jacobi: blockSize must be a positive integer, got 0
 * ```
 * @category Decoding
 */
export function resolveJacobiOptions(options: JacobiOptions, where: string): ResolvedJacobiOptions {
  const mode = oneOf(where, "mode", options.mode ?? "block", JACOBI_MODES);
  if (mode === "window" && options.maxIterations !== undefined) {
    throw new DecodingError(`${where}: maxIterations is a per-block cap and has no meaning in mode "window"`);
  }
  if (mode === "window" && options.recordTrajectory) {
    throw new DecodingError(`${where}: recordTrajectory needs mode "block" (a trajectory is a list of blocks)`);
  }
  return { ...resolveDraftOptions(options, where, 16), mode };
}

// ---------------------------------------------------------------- Jacobi: what an iteration and a run return

/**
 * What one `jacobiIteration` found.
 *
 * @category Decoding
 */
export interface IterationOutcome {
  /** [T] argmax of each row: `greedy[i]` is the model's token after `draft[0..i]`. */
  readonly greedy: number[];
  /** How many leading tokens of the draft are now committed, 1..T (the acceptance rule, with EOS). */
  readonly accepted: number;
  /**
   * The draft for the next iteration, anchor first: the greedy token after the accepted prefix, then the
   * Jacobi update of the rejected tail — T - accepted tokens, or just the next anchor when all were accepted.
   */
  readonly next: number[];
}

/**
 * What {@link JacobiOptions.onIteration} sees after each iteration.
 *
 * @category Decoding
 */
export interface JacobiStep {
  /** Block mode: the block's index; running-window mode: null (there are no blocks). */
  readonly block: number | null;
  /** 1-based: iteration within the block (running-window mode: since the start). */
  readonly iteration: number;
  /** Tokens committed before this iteration (the prompt not counted). */
  readonly committedBefore: number;
  /** Block mode: the state y(j) of the block — its tokens committed earlier, then the draft; running-window mode: the draft. */
  readonly state: readonly number[];
  /** [T] the draft forwarded: the anchor, then draft tokens. */
  readonly draft: readonly number[];
  /** [T] argmax of each row of the forward. */
  readonly greedy: readonly number[];
  /** How many tokens of `draft` were committed (1..T). */
  readonly accepted: number;
  /** The cache after the rollback: prompt + committed tokens. Read only. */
  readonly cache: SequenceCache;
}

/**
 * {@link DecodeStats} plus what only Jacobi has.
 *
 * @category Decoding
 */
export interface JacobiStats extends DecodeStats {
  /** Block mode: forwards spent on each block, in order (each ≤ n); running-window mode: empty. */
  readonly iterationsPerBlock: readonly number[];
}

/**
 * What `jacobi` returns.
 *
 * @category Decoding
 */
export interface JacobiResult extends GenerationResult {
  /** What it cost. */
  readonly stats: JacobiStats;
  /** With `recordTrajectory`: every state of every block. */
  readonly trajectory?: Trajectory;
}

// ---------------------------------------------------------------- multi-block: options

/**
 * Options of `multiBlock`, with the paper's names and the reference defaults.
 *
 * @category Decoding
 */
export interface MultiBlockOptions extends StopOptions, SamplingOptions, RunnerOption {
  /** n, tokens per block; default 64 (the paper's). */
  readonly blockSize?: number;
  /** K, most blocks in flight (1 real-active + K-1 pseudo-active); default 2. */
  readonly maxBlocks?: number;
  /** r in (0, 1]: a new block is spawned once the newest has `ceil(r n)` tokens settled; default 0.85. */
  readonly spawnRatio?: number;
  /** Entries in the candidate pool (the verification size); 0 disables recycling; default 4. */
  readonly poolSize?: number;
  /** `'recycling'` (the paper's, default) or `'ngram'` (Lookahead decoding's). */
  readonly poolKind?: PoolKind;
  /** Candidates are verified only once the RA block has committed this fraction of n, in [0, 1]; default 0. */
  readonly lookaheadStartRatio?: number;
  /**
   * Most forwards per RA block, a safety net; default n (never fires: each forward commits a token). A
   * smaller cap ends the block at what it has committed, drops the pseudo-active blocks behind it (their
   * positions no longer follow) and starts a fresh block; the output is unchanged.
   */
  readonly maxIterations?: number;
  /** How fresh draft tokens are guessed (as in `jacobi`); default `'context'`. */
  readonly init?: DraftInit;
  /** Seed of the draft generator and of the sampling stream; default 0. */
  readonly seed?: number;
  /** Called after every forward, for tracing and tests. It may read `step.cache` but must not change it. */
  readonly onIteration?: (step: MultiBlockStep) => void;
}

/**
 * {@link MultiBlockOptions} with defaults filled in and checked.
 *
 * @category Decoding
 */
export type ResolvedMultiBlockOptions = ResolvedDraftOptions
  & Required<Pick<MultiBlockOptions, "maxBlocks" | "spawnRatio" | "poolSize" | "poolKind" | "lookaheadStartRatio">>;

/**
 * The paper's reference configuration: n = 64, K = 2, r = 0.85, pool 4 (the reference engine's defaults).
 *
 * @category Decoding
 */
export const MULTIBLOCK_DEFAULTS = {
  /** n. */
  blockSize: 64,
  /** K. */
  maxBlocks: 2,
  /** r. */
  spawnRatio: 0.85,
  /** Pool entries. */
  poolSize: 4,
} as const;

/**
 * Fills in defaults and checks every multi-block option.
 *
 * @throws DecodingError naming the option, its value and what was expected
 * @example
 * ```ts
 * resolveMultiBlockOptions({ maxNewTokens: 8 }, "multiBlock").blockSize;             // 64, the paper's default
 * resolveMultiBlockOptions({ maxNewTokens: 8 }, "multiBlock").spawnRatio;            // 0.85
 * resolveMultiBlockOptions({ maxNewTokens: 8, spawnRatio: 0 }, "multiBlock");        // throws: multiBlock: spawnRatio must be a number in (0, 1], got 0
 * ```
 * @category Decoding
 */
export function resolveMultiBlockOptions(options: MultiBlockOptions, where: string): ResolvedMultiBlockOptions {
  const { maxBlocks, spawnRatio, poolSize } = MULTIBLOCK_DEFAULTS;
  return {
    ...resolveDraftOptions(options, where, MULTIBLOCK_DEFAULTS.blockSize),
    maxBlocks: positiveIntegerOption(where, "maxBlocks", options.maxBlocks ?? maxBlocks),
    spawnRatio: checkOption(where, "spawnRatio", options.spawnRatio ?? spawnRatio, (r) => typeof r === "number" && r > 0 && r <= 1, "a number in (0, 1]"),
    poolSize: checkOption(where, "poolSize", options.poolSize ?? poolSize, (n) => Number.isInteger(n) && n >= 0, "a non-negative integer"),
    poolKind: oneOf(where, "poolKind", options.poolKind ?? "recycling", POOL_KINDS),
    lookaheadStartRatio: checkOption(where, "lookaheadStartRatio", options.lookaheadStartRatio ?? 0,
      (r) => typeof r === "number" && r >= 0 && r <= 1, "a number in [0, 1]"),
  };
}

// ---------------------------------------------------------------- multi-block: what a forward and a run return

/**
 * Where the committed tokens came from; the four counts add up to the committed tokens.
 *
 * @category Decoding
 */
export interface AcceptedFrom {
  /** The anchor of each verification: predicted by the forward before it, so always right (one per forward). */
  readonly anchor: number;
  /** Further tokens from the RA block's own Jacobi draft. */
  readonly draft: number;
  /** Further tokens from a pool candidate that won its verification. */
  readonly recycled: number;
  /** Further tokens in the first verification of a promoted block: drafted while it was pseudo-active. */
  readonly promoted: number;
}

/**
 * {@link DecodeStats} plus what only multi-block decoding has.
 *
 * @category Decoding
 */
export interface MultiBlockStats extends DecodeStats {
  /** tokenPositions / committedTokens: the compute paid per committed token (1 for AR). */
  readonly positionsPerToken: number;
  /** Forwards spent on each RA block, in order. */
  readonly iterationsPerBlock: readonly number[];
  /** Where the committed tokens came from. */
  readonly acceptedFrom: AcceptedFrom;
  /** Blocks spawned behind the RA block. */
  readonly spawned: number;
  /** Pseudo-active blocks promoted to RA. */
  readonly promoted: number;
}

/**
 * What `multiBlock` returns.
 *
 * @category Decoding
 */
export interface MultiBlockResult extends GenerationResult {
  /** What it cost. */
  readonly stats: MultiBlockStats;
}

/**
 * What {@link MultiBlockOptions.onIteration} sees after each forward.
 *
 * @category Decoding
 */
export interface MultiBlockStep {
  /** Index of the RA block (0, 1, ... in commit order). */
  readonly block: number;
  /** 1-based forward within the RA block. */
  readonly iteration: number;
  /** Tokens committed before this forward (the prompt not counted). */
  readonly committedBefore: number;
  /** [T_RA] the RA draft forwarded: the anchor, then draft tokens. */
  readonly draft: readonly number[];
  /** The pool's candidate rows for the RA draft, each [T_RA]. */
  readonly candidates: readonly (readonly number[])[];
  /** The pseudo-active blocks forwarded behind the RA draft, nearest first. */
  readonly pseudoBlocks: readonly (readonly number[])[];
  /** -1 when the RA draft won, else the index of the winning candidate. */
  readonly winner: number;
  /** Tokens of the winning row committed (1..T_RA). */
  readonly accepted: number;
  /** The cache after this forward: prompt + committed tokens. Read only. */
  readonly cache: SequenceCache;
}
