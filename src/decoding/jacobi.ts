/**
 * Jacobi decoding: guess the next n tokens, then refine every guess in parallel, one forward per
 * iteration, until the block stops changing. The block it stops at — its fixed point — is exactly what
 * AR greedy decoding produces, token for token, for any weights.
 *
 * Greedy AR decoding solves the triangular system `y_i = argmax p(y | x, y_<i)` one unknown at a time.
 * Jacobi's method solves all n unknowns of a block at once: guess them all, recompute each from the
 * current guesses of the ones before it (one causal forward does that for all n), repeat. A token whose
 * predecessors are all right is right after the next iteration, so the block converges in at most n
 * iterations, and sooner whenever a guess happens to be right — which is what Jacobi Forcing trains for.
 *
 * What this file is: `jacobiIteration`, one iteration as in the paper's algorithm box (forward, verify,
 * roll back the KV cache, update), and `jacobi`, the decoder built on it, in two modes:
 * - `'block'` (the paper's Eq. 4): decode block after block of n tokens, each to its fixed point;
 * - `'window'` (the reference serving engine): keep n tokens in flight, refilling drafts as tokens commit.
 * With a temperature (`SamplingOptions`) the same loop samples, losslessly: `jacobiSampledIteration`
 * verifies drafts with the rule of `sampling.ts` instead of the greedy prefix rule.
 * What it is not: multi-block decoding and rejection recycling (docs/ALGORITHM.md §4) — see `multiblock.ts`.
 *
 * Shape legend: n block size, T tokens in this forward (T ≤ n), V vocabulary, P cached positions.
 *
 * Paper: §2.1, Eq. 2–4; docs/ALGORITHM.md §1. Read `docs/jacobi.md` for why the fixed point equals AR.
 *
 * Read next: `jacobi-reference.ts`, the same iterates computed naively (the oracle for the trajectories),
 * and `trajectory.ts`, what `recordTrajectory` produces.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { cpuRunner, resolveRunner, type ModelRunner, type RunnerOption, type SequenceCache } from "../model/runner.ts";
import { Rng } from "../tensor/random.ts";
import {
  DecodingError, acceptedPrefixLength, generationBudget, makeStats, oneOf, positiveIntegerOption, stopToken,
  type DecodeStats, type StopOptions,
} from "./acceptance.ts";
import { resolveSampling, samplingDistribution, sampleToken, verifySampled, type ResolvedSampling, type SamplingOptions } from "./sampling.ts";
import type { Trajectory, TrajectoryBlock } from "./trajectory.ts";

// ---------------------------------------------------------------- options

/**
 * How the draft tokens of a block are first guessed. Correctness never depends on it; speed does.
 * - `'context'`: uniform, with replacement, from the prompt and the text generated so far (the
 *   reference code's choice: real text often repeats);
 * - `'vocab'`: uniform over the whole vocabulary;
 * - `'repeat-last'`: the token just before the draft slots, repeated;
 * - `'pad'`: the pad token.
 *
 * @example
 * ```ts
 * jacobi(config, params, prompt, { maxNewTokens: 64, init: "repeat-last" }); // every draft slot holds the seed: deterministic
 * ```
 * @category Decoding
 */
export type DraftInit = "context" | "vocab" | "repeat-last" | "pad";

/**
 * Every {@link DraftInit}, in documentation order.
 *
 * @example
 * ```ts
 * DRAFT_INITS; // ["context", "vocab", "repeat-last", "pad"]
 * ```
 * @category Decoding
 */
export const DRAFT_INITS: readonly DraftInit[] = ["context", "vocab", "repeat-last", "pad"];

/**
 * Block by block to each fixed point (`'block'`), or a sliding window of n tokens (`'window'`).
 *
 * @example
 * ```ts
 * jacobi(config, params, prompt, { maxNewTokens: 64, mode: "window" }); // 16 tokens always in flight, no block boundaries
 * ```
 * @category Decoding
 */
export type JacobiMode = "block" | "window";

/**
 * Every {@link JacobiMode}.
 *
 * @example
 * ```ts
 * JACOBI_MODES; // ["block", "window"]
 * ```
 * @category Decoding
 */
export const JACOBI_MODES: readonly JacobiMode[] = ["block", "window"];

/**
 * Options of {@link jacobi}.
 *
 * @example
 * ```ts
 * const options: JacobiOptions = { maxNewTokens: 64, blockSize: 16, init: "context", seed: 0, recordTrajectory: true };
 * ```
 * @category Decoding
 */
export interface JacobiOptions extends StopOptions, SamplingOptions, RunnerOption {
  /** n, tokens per block (or in the window); default 16. */
  readonly blockSize?: number;
  /** How draft tokens are first guessed; default `'context'`. */
  readonly init?: DraftInit;
  /** Seed of the draft generator (and of the sampling stream); default 0. Equal seeds give equal runs. */
  readonly seed?: number;
  /** `'block'` (default) or `'window'`. */
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
 * The options with their defaults filled in and checked.
 *
 * @example
 * ```ts
 * resolveJacobiOptions({ maxNewTokens: 8 }, "jacobi");
 * // { blockSize: 16, init: "context", seed: 0, mode: "block", maxIterations: 16, sampling: null }
 * ```
 * @category Decoding
 */
export interface ResolvedJacobiOptions {
  /** n. */
  readonly blockSize: number;
  /** The draft initialisation. */
  readonly init: DraftInit;
  /** The draft generator's seed. */
  readonly seed: number;
  /** The mode. */
  readonly mode: JacobiMode;
  /** The per-block cap (block mode). */
  readonly maxIterations: number;
  /** Null for greedy decoding, else the sampling distribution's shape. */
  readonly sampling: ResolvedSampling | null;
}

/**
 * Fills in defaults and checks every Jacobi option.
 *
 * @param where - the decoder's name, for error messages
 * @throws DecodingError naming the option, its value and what was expected
 * @example
 * ```ts
 * resolveJacobiOptions({ maxNewTokens: 8 }, "jacobi").blockSize; // 16
 * resolveJacobiOptions({ maxNewTokens: 8, blockSize: 0 }, "jacobi"); // throws: jacobi: blockSize must be a positive integer, got 0
 * ```
 * @category Decoding
 */
export function resolveJacobiOptions(options: JacobiOptions, where: string): ResolvedJacobiOptions {
  const blockSize = positiveIntegerOption(where, "blockSize", options.blockSize ?? 16);
  const init = oneOf(where, "init", options.init ?? "context", DRAFT_INITS);
  const mode = oneOf(where, "mode", options.mode ?? "block", JACOBI_MODES);
  const seed = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new DecodingError(`${where}: seed must be an integer, got ${JSON.stringify(seed) ?? String(seed)}`);
  }
  if (mode === "window" && options.maxIterations !== undefined) {
    throw new DecodingError(`${where}: maxIterations is a per-block cap and has no meaning in mode "window"`);
  }
  if (mode === "window" && options.recordTrajectory) {
    throw new DecodingError(`${where}: recordTrajectory needs mode "block" (a trajectory is a list of blocks)`);
  }
  const maxIterations = positiveIntegerOption(where, "maxIterations", options.maxIterations ?? blockSize);
  return { blockSize, init, seed, mode, maxIterations, sampling: resolveSampling(options, where) };
}

// ---------------------------------------------------------------- drafts

/**
 * `count` draft tokens for the slots after `last`, drawn as `init` says.
 *
 * @param text - the prompt and the tokens committed so far (the pool `'context'` draws from)
 * @param last - the token just before the draft slots (what `'repeat-last'` repeats)
 * @param rng - consumed only by `'context'` and `'vocab'`
 * @returns [count] token ids
 * @example
 * ```ts
 * draftTokens("repeat-last", 3, [1, 40, 41], 7, new Rng(0), PRESETS.tiny); // [7, 7, 7]
 * ```
 * @category Decoding
 */
export function draftTokens(init: DraftInit, count: number, text: readonly number[], last: number, rng: Rng, config: ModelConfig): number[] {
  const draw = (): number => {
    switch (init) {
      case "context": return text[rng.int(text.length)];
      case "vocab": return rng.int(config.vocabSize);
      case "repeat-last": return last;
      case "pad": return config.padTokenId;
    }
  };
  return Array.from({ length: count }, draw);
}

// ---------------------------------------------------------------- one Jacobi iteration

/**
 * What one {@link jacobiIteration} found.
 *
 * @example
 * ```ts
 * // the first iteration of the math teacher on 914+169 with n = 4 and drafts "repeat-last":
 * // window [11, 11, 11, 11] -> { greedy: [5, 5, 5, 5], accepted: 1, next: [5, 5, 5] }
 * ```
 * @category Decoding
 */
export interface IterationOutcome {
  /** [T] argmax of each row: `greedy[i]` is the model's token after `window[0..i]`. */
  readonly greedy: number[];
  /** How many leading tokens of the window are now committed, 1..T (the acceptance rule, with EOS). */
  readonly accepted: number;
  /**
   * The window for the next iteration, seed first: the greedy token after the accepted prefix, then the
   * Jacobi update of the rejected tail — T - accepted tokens, or just the seed when all were accepted.
   */
  readonly next: number[];
}

/**
 * One Jacobi iteration (docs/ALGORITHM.md §1): forward the window after the committed text, keep its verified
 * prefix, roll the KV cache back to it, and update every rejected token from its predecessors.
 *
 * On entry the cache holds exactly the committed text and `window[0]` is the greedy token after it (the
 * seed). On return the cache holds the committed text plus the accepted tokens, nothing else.
 *
 * @param cache - [P] the committed text; grows by `accepted` rows
 * @param window - [T] the seed, then draft tokens
 * @param eos - the EOS id in force, or null
 * @param runner - the backend that forwards (it made `cache`); default the CPU reference
 * @example
 * ```ts
 * const cache = new KVCache(config);
 * const seed = argmax(forward(config, params, prompt, { cache }))[prompt.length - 1];   // the prefill
 * const { accepted, next } = jacobiIteration(config, params, cache, [seed, 5, 5, 5], null);
 * cache.length === prompt.length + accepted;                                             // true
 * ```
 * @category Decoding
 */
export function jacobiIteration(
  config: ModelConfig, params: Params, cache: SequenceCache, window: readonly number[], eos: number | null,
  runner: ModelRunner = cpuRunner(config, params),
): IterationOutcome {
  const committedLength = cache.length;
  const result = runner.forward(window, { cache });                           // [T, V] logits; appends T rows of KV
  const greedy = Array.from(result.argmax());                                 // [T]; causal: row i saw window[0..i] only
  const accepted = acceptedPrefixLength(window, greedy, eos);                 // 1 + leading window[i] == greedy[i-1]
  cache.truncate(committedLength + accepted);                                 // the rollback: forget the rejected tail's KV
  const next = [greedy[accepted - 1], ...greedy.slice(accepted, window.length - 1)]; // seed, then the Jacobi update
  return { greedy, accepted, next };
}

/**
 * One Jacobi iteration that samples (docs/ALGORITHM.md §6): forward the window, commit the seed and the
 * drafts that pass the delta-proposal test of {@link verifySampled}, roll the KV cache back to them,
 * and draw the next seed (the residual sample at the first rejection). The rejected tail is updated
 * with the argmax of its rows — any guess is fine there, the test alone decides what is committed.
 *
 * `window[0]` must be a sample from the model's distribution after the committed text. The result has
 * the shape of {@link jacobiIteration}'s, with `next[0]` a sample instead of an argmax.
 *
 * @param cache - [P] the committed text; grows by `accepted` rows
 * @param window - [T] the seed, then draft tokens
 * @param runner - the backend that forwards (it made `cache`); default the CPU reference
 * @example
 * ```ts
 * const sampling = { temperature: 1, topK: null, topP: 1 };
 * const { accepted } = jacobiSampledIteration(config, params, cache, [seed, 5, 5], null, sampling, new Rng(0));
 * cache.length === committedBefore + accepted;                                          // true
 * ```
 * @category Decoding
 */
export function jacobiSampledIteration(
  config: ModelConfig, params: Params, cache: SequenceCache, window: readonly number[], eos: number | null, sampling: ResolvedSampling, rng: Rng,
  runner: ModelRunner = cpuRunner(config, params),
): IterationOutcome {
  const committedLength = cache.length;
  const result = runner.forward(window, { cache });                           // appends T rows of KV
  const logits = result.logits();                                             // [T, V]
  const greedy = Array.from(result.argmax());                                 // [T]; the guesses for the rejected tail
  const verdict = verifySampled([window], (_, i) => samplingDistribution(logits, i, sampling), eos, rng);
  const accepted = verdict.accepted;
  cache.truncate(committedLength + accepted);                                 // the rollback
  const next = [verdict.next, ...greedy.slice(accepted, window.length - 1)];  // sampled seed, then the Jacobi update
  return { greedy, accepted, next };
}

// ---------------------------------------------------------------- the decoder

/**
 * What {@link JacobiOptions.onIteration} sees after each iteration.
 *
 * @example
 * ```ts
 * // the first step of the math teacher on 914+169 (n = 4, drafts "repeat-last"), cache left out:
 * // { block: 0, iteration: 1, committedBefore: 0, state: [11, 11, 11, 11], window: [11, 11, 11, 11], greedy: [5, 5, 5, 5], accepted: 1 }
 * ```
 * @category Decoding
 */
export interface JacobiStep {
  /** Block mode: the block's index; window mode: null (there are no blocks). */
  readonly block: number | null;
  /** 1-based: iteration within the block (window mode: since the start). */
  readonly iteration: number;
  /** Tokens committed before this iteration (the prompt not counted). */
  readonly committedBefore: number;
  /** Block mode: the state y(j) of the block — its tokens committed earlier, then the window; window mode: the window. */
  readonly state: readonly number[];
  /** [T] the tokens forwarded. */
  readonly window: readonly number[];
  /** [T] argmax of each row of the forward. */
  readonly greedy: readonly number[];
  /** How many tokens of `window` were committed (1..T). */
  readonly accepted: number;
  /** The cache after the rollback: prompt + committed tokens. Read only. */
  readonly cache: SequenceCache;
}

/**
 * {@link DecodeStats} plus what only Jacobi has.
 *
 * @example
 * ```ts
 * // Jacobi n=16 on the math teacher, prompt 914+169: 34 tokens in 29 forwards
 * // { forwards: 29, prefillForwards: 1, committedTokens: 34, tokensPerForward: 1.1724, tokenPositions: 266, iterationsPerBlock: [15, 12, 2] }
 * ```
 * @category Decoding
 */
export interface JacobiStats extends DecodeStats {
  /** Block mode: forwards spent on each block, in order (each ≤ n); window mode: empty. */
  readonly iterationsPerBlock: readonly number[];
}

/**
 * What {@link jacobi} returns.
 *
 * @example
 * ```ts
 * const { tokens, stats, trajectory } = jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: 16, recordTrajectory: true });
 * trajectory!.blocks.length === stats.iterationsPerBlock.length; // true
 * ```
 * @category Decoding
 */
export interface JacobiResult {
  /** The generated token ids (not the prompt); equal to AR greedy's. */
  readonly tokens: number[];
  /** What it cost. */
  readonly stats: JacobiStats;
  /** With `recordTrajectory`: every state of every block. */
  readonly trajectory?: Trajectory;
}

/**
 * Jacobi decoding with a KV cache and exact rollback. Greedy (no temperature): returns exactly the
 * tokens of `arGreedyReference`, in fewer forwards whenever drafts are right. With a temperature: a
 * sample from exactly the distribution of `arSample` (see {@link jacobiSampledIteration}).
 *
 * A prefill over the prompt gives the first seed; then each iteration forwards a window of at most n
 * tokens ({@link jacobiIteration}) and commits between 1 and all of them. A block of n tokens therefore
 * takes between 1 and n forwards; tokens per forward (TPF) is between 1 and n.
 *
 * @param prompt - [P] token ids, at least one
 * @throws DecodingError for a bad option or prompt, naming it
 * @example
 * ```ts
 * const params = initParams(PRESETS.tiny, { seed: 1 });
 * jacobi(PRESETS.tiny, params, [1, 40], { maxNewTokens: 20, blockSize: 8 }).tokens;
 * // equal to arGreedy(PRESETS.tiny, params, [1, 40], { maxNewTokens: 20 }).tokens
 * ```
 * @category Decoding
 */
export function jacobi(config: ModelConfig, params: Params, prompt: readonly number[], options: JacobiOptions): JacobiResult {
  const resolved = resolveJacobiOptions(options, "jacobi");
  const budget = generationBudget(config, prompt, options, "jacobi");
  const runner = resolveRunner(config, params, options, "jacobi");
  const run: Run = {
    config, params, runner, prompt, budget, options: resolved,
    eos: stopToken(config, options),
    rng: new Rng(resolved.seed),
    cache: runner.newCache({ firstStep: Math.max(1, Math.min(resolved.blockSize, budget)) }),   // the first window's size
    committed: [], forwards: 0, positions: 0,
    onIteration: options.onIteration,
  };
  try {
    let blocks: BlockRecords = { iterations: [], trajectory: [] };
    if (budget > 0) {
      const prefill = runner.forward(prompt, { cache: run.cache });                                  // prefill: the first seed
      const seed = resolved.sampling === null
        ? prefill.argmax()[prompt.length - 1]
        : sampleToken(samplingDistribution(prefill.logits(), prompt.length - 1, resolved.sampling), run.rng);
      blocks = resolved.mode === "block" ? decodeBlocks(run, seed, options.recordTrajectory ?? false) : decodeWindow(run, seed);
    }
    const stats = { ...makeStats(run.forwards, budget > 0 ? 1 : 0, run.committed.length, run.positions), iterationsPerBlock: blocks.iterations };
    if (!options.recordTrajectory) return { tokens: run.committed, stats };
    return { tokens: run.committed, stats, trajectory: { prompt: [...prompt], blockSize: resolved.blockSize, blocks: blocks.trajectory } };
  } finally {
    run.cache.release?.();  // a GPU cache gives its buffers back now (pooled or freed): garbage collection may not run inside a decoding loop
  }
}

/** The state of one decoding run, shared by the two modes. */
interface Run {
  readonly config: ModelConfig;
  readonly params: Params;
  readonly runner: ModelRunner;
  readonly prompt: readonly number[];
  readonly budget: number;
  readonly options: ResolvedJacobiOptions;
  readonly eos: number | null;
  readonly rng: Rng;
  readonly cache: SequenceCache;
  readonly committed: number[];
  forwards: number;
  positions: number;
  readonly onIteration: ((step: JacobiStep) => void) | undefined;
}

/** Runs one iteration, commits what it accepted, and counts it. Returns the outcome and whether decoding is over. */
function step(run: Run, window: number[], block: number | null, iteration: number, state: readonly number[]): IterationOutcome & { finished: boolean } {
  const committedBefore = run.committed.length;
  const { sampling } = run.options;
  const outcome = sampling === null
    ? jacobiIteration(run.config, run.params, run.cache, window, run.eos, run.runner)
    : jacobiSampledIteration(run.config, run.params, run.cache, window, run.eos, sampling, run.rng, run.runner);
  run.forwards++;
  run.positions += window.length;
  run.committed.push(...window.slice(0, outcome.accepted));
  run.onIteration?.({ block, iteration, committedBefore, state, window, greedy: outcome.greedy, accepted: outcome.accepted, cache: run.cache });
  const finished = run.committed.length === run.budget || (run.eos !== null && run.committed[run.committed.length - 1] === run.eos);
  return { ...outcome, finished };
}

/** `window` topped up with fresh drafts to `width` tokens. */
function fill(run: Run, window: readonly number[], width: number): number[] {
  const text = [...run.prompt, ...run.committed];
  return [...window, ...draftTokens(run.options.init, width - window.length, text, window[window.length - 1], run.rng, run.config)];
}

/** Per block, the forwards it took and (when recorded) its trajectory entry. */
interface BlockRecords {
  readonly iterations: number[];
  readonly trajectory: TrajectoryBlock[];
}

/**
 * Block mode (Eq. 4): each block of n = min(blockSize, tokens left) starts as the seed plus fresh drafts
 * and is iterated until all of it is accepted (its fixed point), EOS is accepted, or the cap is reached.
 */
function decodeBlocks(run: Run, firstSeed: number, record: boolean): BlockRecords {
  const records: BlockRecords = { iterations: [], trajectory: [] };
  let seed = firstSeed;
  for (let block = 0; ; block++) {
    const blockStart = run.committed.length;
    let window = fill(run, [seed], Math.min(run.options.blockSize, run.budget - blockStart));
    const states: number[][] = [];
    for (let iteration = 1; ; iteration++) {
      const state = [...run.committed.slice(blockStart), ...window];         // y(j): accepted prefix ++ window
      if (record) states.push(state);
      const outcome = step(run, window, block, iteration, state);
      const converged = outcome.accepted === window.length;
      if (outcome.finished || converged || iteration === run.options.maxIterations) {
        records.iterations.push(iteration);
        const fixedPoint = run.committed.slice(blockStart);
        const context = [...run.prompt, ...run.committed.slice(0, blockStart)];
        if (record) records.trajectory.push({ context, states: states.map((y) => y.slice(0, fixedPoint.length)), fixedPoint });
        if (outcome.finished) return records;
        seed = outcome.next[0];                                               // the greedy token after the block
        break;
      }
      window = outcome.next;
    }
  }
}

/**
 * Window mode (the reference serving engine): after every iteration the window is topped back up to
 * n = min(blockSize, tokens left) with fresh drafts behind the Jacobi-updated tail, so n tokens are
 * always in flight and no iteration waits for a block to finish.
 */
function decodeWindow(run: Run, firstSeed: number): BlockRecords {
  let window = fill(run, [firstSeed], Math.min(run.options.blockSize, run.budget));
  for (let iteration = 1; ; iteration++) {
    const outcome = step(run, window, null, iteration, window);
    if (outcome.finished) return { iterations: [], trajectory: [] };
    window = fill(run, outcome.next, Math.min(run.options.blockSize, run.budget - run.committed.length));
  }
}
