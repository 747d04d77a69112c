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
 * Words (docs/GLOSSARY.md): the **anchor** is the model's token after the committed text (`s` in
 * docs/ALGORITHM.md §1); predicted from committed text only, it is always right, and it opens every
 * draft, so every iteration commits at least one token. The **draft** is what one iteration forwards:
 * the anchor, then T-1 draft tokens (guesses, first drawn by `draft.ts`) — the block's tokens not
 * committed yet. The **state** y(j) of a block is its tokens committed earlier, then the draft. `seed`
 * is only ever the random generator's seed.
 *
 * What this file is: `jacobiIteration`, one iteration as in the paper's algorithm box (forward, verify,
 * roll back the KV cache, update), and `jacobi`, the decoder built on it, in two modes:
 * - `'block'` (the paper's Eq. 4): decode block after block of n tokens, each to its fixed point;
 * - `'window'`, the **running window** (the reference serving engine): keep n tokens in flight, topping
 *   the draft up with fresh draft tokens as tokens commit.
 * With a temperature (`SamplingOptions`) the same loop samples, losslessly: `jacobiSampledIteration`
 * verifies drafts with the rule of `sampling.ts` instead of the greedy prefix rule.
 * What it is not: multi-block decoding and rejection recycling (docs/ALGORITHM.md §4) — see
 * `multiblock.ts`. The options, results and steps are in `types.ts`.
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
import type { Eos, ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { cpuRunner, resolveRunner, type ModelRunner, type SequenceCache } from "../model/runner.ts";
import { Rng } from "../tensor/random.ts";
import { acceptedPrefixLength, generationBudget, generationFinished, makeStats, stopReason, stopToken } from "./acceptance.ts";
import { draftTokens } from "./draft.ts";
import { nextToken, samplingDistribution, verifySampled, type ResolvedSampling } from "./sampling.ts";
import type { TrajectoryBlock } from "./trajectory.ts";
import {
  resolveJacobiOptions, type IterationOutcome, type JacobiOptions, type JacobiResult, type JacobiStep, type ResolvedJacobiOptions,
} from "./types.ts";

// ---------------------------------------------------------------- one Jacobi iteration

/**
 * One Jacobi iteration (docs/ALGORITHM.md §1): forward the draft after the committed text, keep its verified
 * prefix, roll the KV cache back to it, and update every rejected token from its predecessors.
 *
 * On entry the cache holds exactly the committed text and `draft[0]` is the greedy token after it (the
 * anchor). On return the cache holds the committed text plus the accepted tokens, nothing else.
 *
 * @param cache - [P] the committed text; grows by `accepted` rows
 * @param draft - [T] the anchor, then draft tokens
 * @param eos - the EOS id in force, or null
 * @param runner - the backend that forwards (it made `cache`); default the CPU reference
 * @returns the greedy tokens [T], how many draft tokens were committed, and the next draft
 * @example
 * ```ts
 * const cache = new KVCache(config);
 * const anchor = argmax(forward(config, params, prompt, { cache }))[prompt.length - 1];   // the prefill
 * const { accepted, next } = jacobiIteration(config, params, cache, [anchor, 5, 5, 5], null);
 * cache.length === prompt.length + accepted;                                               // true
 * // the math teacher on 914+169, n = 4, drafts "repeat-last": [11, 11, 11, 11] -> { greedy: [5, 5, 5, 5], accepted: 1, next: [5, 5, 5] }
 * ```
 * @category Decoding
 */
export function jacobiIteration(
  config: ModelConfig, params: Params, cache: SequenceCache, draft: readonly number[], eos: Eos,
  runner: ModelRunner = cpuRunner(config, params),
): IterationOutcome {
  const committedLength = cache.length;
  const result = runner.forward(draft, { cache });                            // [T, V] logits; appends T rows of KV
  const greedy = Array.from(result.argmax());                                 // [T]; causal: row i saw draft[0..i] only
  const accepted = acceptedPrefixLength(draft, greedy, eos);                  // 1 + leading draft[i] == greedy[i-1]
  cache.truncate(committedLength + accepted);                                 // the rollback: forget the rejected tail's KV
  const next = [greedy[accepted - 1], ...greedy.slice(accepted, draft.length - 1)]; // the anchor, then the Jacobi update
  return { greedy, accepted, next };
}

/**
 * One Jacobi iteration that samples (docs/ALGORITHM.md §6): forward the draft, commit the anchor and the
 * draft tokens that pass the delta-proposal test of {@link verifySampled}, roll the KV cache back to them,
 * and draw the next anchor (the residual sample at the first rejection). The rejected tail is updated
 * with the argmax of its rows — any guess is fine there, the test alone decides what is committed.
 *
 * `draft[0]` must be a sample from the model's distribution after the committed text. The result has
 * the shape of {@link jacobiIteration}'s, with `next[0]` a sample instead of an argmax.
 *
 * @param cache - [P] the committed text; grows by `accepted` rows
 * @param draft - [T] the anchor, then draft tokens
 * @param runner - the backend that forwards (it made `cache`); default the CPU reference
 * @example
 * ```ts
 * const sampling = { temperature: 1, topK: null, topP: 1 };
 * const { accepted } = jacobiSampledIteration(config, params, cache, [anchor, 5, 5], null, sampling, new Rng(0));
 * cache.length === committedBefore + accepted;                                            // true
 * ```
 * @category Decoding
 */
export function jacobiSampledIteration(
  config: ModelConfig, params: Params, cache: SequenceCache, draft: readonly number[], eos: Eos, sampling: ResolvedSampling, rng: Rng,
  runner: ModelRunner = cpuRunner(config, params),
): IterationOutcome {
  const committedLength = cache.length;
  const result = runner.forward(draft, { cache });                            // appends T rows of KV
  const logits = result.logits();                                             // [T, V]
  const greedy = Array.from(result.argmax());                                 // [T]; the guesses for the rejected tail
  const { accepted, next: anchor } = verifySampled([draft], (_, i) => samplingDistribution(logits, i, sampling), eos, rng);
  cache.truncate(committedLength + accepted);                                 // the rollback
  const next = [anchor, ...greedy.slice(accepted, draft.length - 1)];         // the sampled anchor, then the Jacobi update
  return { greedy, accepted, next };
}

// ---------------------------------------------------------------- the decoder

/**
 * Jacobi decoding with a KV cache and exact rollback. Greedy (no temperature): returns exactly the
 * tokens of `arGreedyReference`, in fewer forwards whenever drafts are right. With a temperature: a
 * sample from exactly the distribution of `arSample` (see {@link jacobiSampledIteration}).
 *
 * A prefill over the prompt gives the first anchor; then each iteration forwards a draft of at most n
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
 * const { stats, trajectory } = jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: 16, recordTrajectory: true });
 * // the math teacher on 914+169: 34 tokens in 29 forwards, stats.iterationsPerBlock [15, 12, 2], one trajectory block each
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
    cache: runner.newCache({ firstStep: Math.max(1, Math.min(resolved.blockSize, budget)) }),   // the first draft's size
    committed: [], forwards: 0, positions: 0,
    onIteration: options.onIteration,
  };
  try {
    let blocks: BlockRecords = { iterations: [], trajectory: [] };
    if (budget > 0) {
      const prefill = runner.forward(prompt, { cache: run.cache });                                  // prefill: the first anchor
      const anchor = nextToken(prefill, prompt.length - 1, resolved.sampling, run.rng);
      blocks = resolved.mode === "block" ? decodeBlocks(run, anchor, options.recordTrajectory ?? false) : decodeRunningWindow(run, anchor);
    }
    const stop = stopReason(run.committed, run.eos, options.maxNewTokens);
    const stats = { ...makeStats(run.forwards, budget > 0 ? 1 : 0, run.committed.length, run.positions, stop), iterationsPerBlock: blocks.iterations };
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
  readonly eos: Eos;
  readonly rng: Rng;
  readonly cache: SequenceCache;
  readonly committed: number[];
  forwards: number;
  positions: number;
  readonly onIteration: ((step: JacobiStep) => void) | undefined;
}

/** Runs one iteration, commits what it accepted, and counts it. Returns the outcome and whether decoding is over. */
function step(run: Run, draft: number[], block: number | null, iteration: number, state: readonly number[]): IterationOutcome & { finished: boolean } {
  const committedBefore = run.committed.length;
  const { sampling } = run.options;
  const outcome = sampling === null
    ? jacobiIteration(run.config, run.params, run.cache, draft, run.eos, run.runner)
    : jacobiSampledIteration(run.config, run.params, run.cache, draft, run.eos, sampling, run.rng, run.runner);
  run.forwards++;
  run.positions += draft.length;
  run.committed.push(...draft.slice(0, outcome.accepted));
  run.onIteration?.({ block, iteration, committedBefore, state, draft, greedy: outcome.greedy, accepted: outcome.accepted, cache: run.cache });
  return { ...outcome, finished: generationFinished(run.committed, run.budget, run.eos) };
}

/** `draft` topped up with fresh draft tokens to `width` tokens. */
function fill(run: Run, draft: readonly number[], width: number): number[] {
  const text = [...run.prompt, ...run.committed];
  return [...draft, ...draftTokens(run.options.init, width - draft.length, text, draft[draft.length - 1], run.rng, run.config)];
}

/** Per block, the forwards it took and (when recorded) its trajectory entry. */
interface BlockRecords {
  readonly iterations: number[];
  readonly trajectory: TrajectoryBlock[];
}

/**
 * Block mode (Eq. 4): each block of n = min(blockSize, tokens left) starts as the anchor plus fresh draft
 * tokens and is iterated until all of it is accepted (its fixed point), EOS is accepted, or the cap is reached.
 */
function decodeBlocks(run: Run, firstAnchor: number, record: boolean): BlockRecords {
  const records: BlockRecords = { iterations: [], trajectory: [] };
  let anchor = firstAnchor;
  for (let block = 0; ; block++) {
    const blockStart = run.committed.length;
    let draft = fill(run, [anchor], Math.min(run.options.blockSize, run.budget - blockStart));
    const states: number[][] = [];
    for (let iteration = 1; ; iteration++) {
      const state = [...run.committed.slice(blockStart), ...draft];          // y(j): accepted prefix ++ draft
      if (record) states.push(state);
      const outcome = step(run, draft, block, iteration, state);
      const converged = outcome.accepted === draft.length;
      if (outcome.finished || converged || iteration === run.options.maxIterations) {
        records.iterations.push(iteration);
        const fixedPoint = run.committed.slice(blockStart);
        const context = [...run.prompt, ...run.committed.slice(0, blockStart)];
        if (record) records.trajectory.push({ context, states: states.map((y) => y.slice(0, fixedPoint.length)), fixedPoint });
        if (outcome.finished) return records;
        anchor = outcome.next[0];                                             // the greedy token after the block
        break;
      }
      draft = outcome.next;
    }
  }
}

/**
 * The running window (the reference serving engine): after every iteration the draft is topped back up
 * to n = min(blockSize, tokens left) with fresh draft tokens behind the Jacobi-updated tail, so n tokens
 * are always in flight and no iteration waits for a block to finish.
 */
function decodeRunningWindow(run: Run, firstAnchor: number): BlockRecords {
  let draft = fill(run, [firstAnchor], Math.min(run.options.blockSize, run.budget));
  for (let iteration = 1; ; iteration++) {
    const outcome = step(run, draft, null, iteration, draft);
    if (outcome.finished) return { iterations: [], trajectory: [] };
    draft = fill(run, outcome.next, Math.min(run.options.blockSize, run.budget - run.committed.length));
  }
}
