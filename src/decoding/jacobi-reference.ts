/**
 * Naive block Jacobi: the textbook fixed-point iteration with a full recompute at every step and no KV
 * cache — the second oracle, for trajectories.
 *
 * Each iteration forwards the whole sequence `context ++ y` from scratch and replaces every token of the
 * block at once by the model's greedy token for its position:
 *
 *   y(j+1)[i] = argmax p( · | context, y(j)[0..i-1] )        for every i in 0..m-1   (Eq. 3)
 *
 * The block has converged as far as y(j) and y(j+1) agree; it is done when they agree everywhere (the
 * fixed point), when EOS lies in the converged part, or at the iteration cap. There is no acceptance
 * rule, no shrinking draft and no rollback here: that is the point. `jacobi` must produce exactly the
 * same states, the same tokens and the same number of iterations with its cache, its acceptance rule and
 * its rollback. Both draw the first draft tokens from `draft.ts`, so equal seeds give equal y(0).
 *
 * Slow on purpose: an iteration costs a forward over the whole text so far.
 *
 * Paper: §2.1, Eq. 2–4; docs/ALGORITHM.md §1–2.
 *
 * Read next: `trajectory.ts`, the record this returns.
 *
 * @module
 */
import { isEos, type ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { forward } from "../model/transformer.ts";
import { argmax } from "../tensor/ops.ts";
import { Rng } from "../tensor/random.ts";
import { commonPrefixLength } from "../util/sequences.ts";
import { DecodingError, generationBudget, generationFinished, keepThroughEos, makeStats, stopReason, stopToken } from "./acceptance.ts";
import { draftTokens } from "./draft.ts";
import type { Trajectory, TrajectoryBlock } from "./trajectory.ts";
import { resolveJacobiOptions, type JacobiOptions, type JacobiResult } from "./types.ts";

/**
 * Options of {@link jacobiReference}: those of block-mode `jacobi` that change the iterates.
 *
 * @category Decoding
 */
export type JacobiReferenceOptions = Pick<JacobiOptions, "maxNewTokens" | "eosTokenId" | "blockSize" | "init" | "seed" | "maxIterations">;

/**
 * What {@link jacobiReference} returns: the tokens, the counts, and every iterate. The counts are those of
 * `jacobi`: forwards are iterations, and the forward over the prompt counts as the prefill.
 *
 * @category Decoding
 */
export interface JacobiReferenceResult extends JacobiResult {
  /** Every state of every block. */
  readonly trajectory: Trajectory;
}

/**
 * Block Jacobi by full recompute: the iterates of `jacobi` (block mode, same options and seed),
 * computed the obvious way.
 *
 * @param prompt - [P] token ids, at least one
 * @throws DecodingError for a bad option or prompt
 * @example
 * ```ts
 * const params = initParams(PRESETS.tiny, { seed: 1 });
 * const { trajectory } = jacobiReference(PRESETS.tiny, params, [1, 40], { maxNewTokens: 8, blockSize: 4 });
 * trajectory.blocks[0].states.at(-1); // the fixed point: AR greedy's first 4 tokens
 * jacobiReference(config, params, prompt, { maxNewTokens: 64, blockSize: 16 }).stats.iterationsPerBlock;
 * // [15, 12, 2] for the math teacher on 914+169, as jacobi's
 * ```
 * @category Decoding
 */
export function jacobiReference(config: ModelConfig, params: Params, prompt: readonly number[], options: JacobiReferenceOptions): JacobiReferenceResult {
  const { mode } = options as JacobiOptions;
  if (mode !== undefined && mode !== "block") {
    throw new DecodingError(`jacobiReference: only mode "block" has a reference, got ${JSON.stringify(mode)}`);
  }
  const { blockSize, init, seed, maxIterations, sampling } = resolveJacobiOptions(options, "jacobiReference");
  if (sampling !== null) throw new DecodingError("jacobiReference: the reference is greedy; sampling needs a temperature of 0 or none");
  const budget = generationBudget(config, prompt, options, "jacobiReference");
  const eos = stopToken(config, options);
  const rng = new Rng(seed);
  const out: number[] = [];
  const blocks: TrajectoryBlock[] = [];
  const iterationsPerBlock: number[] = [];
  let forwards = 0;
  let positions = 0;
  if (budget === 0) {
    const stats = { ...makeStats(0, 0, 0, 0, stopReason(out, eos, options.maxNewTokens)), iterationsPerBlock };
    return { tokens: out, stats, trajectory: { prompt: [...prompt], blockSize, blocks } };
  }
  const promptRows = argmax(forward(config, params, prompt));                        // [P]: the prefill
  let anchor = promptRows[prompt.length - 1];                                        // the greedy token after the prompt
  while (!generationFinished(out, budget, eos)) {
    const context = [...prompt, ...out];
    const m = Math.min(blockSize, budget - out.length);
    let y = [anchor, ...draftTokens(init, m - 1, context, anchor, rng, config)];      // y(0): the anchor, then draft tokens
    const states: number[][] = [];
    for (let iteration = 1; ; iteration++) {
      states.push(y);
      const rows = argmax(forward(config, params, [...context, ...y]));              // [|context| + m], no cache
      forwards++;
      positions += context.length + m;
      // predicted[i] = greedy token at block position i given context ++ y[0..i-1]; predicted[m] follows the block
      const predicted = Array.from(rows.subarray(context.length - 1, context.length + m));
      const converged = commonPrefixLength(y, predicted.slice(0, m));                // y[0..converged-1] are fixed
      const kept = keepThroughEos(y.slice(0, converged), eos);
      const ended = isEos(eos, y[kept - 1]);                                         // EOS is fixed: the output ends
      if (ended || converged === m || iteration === maxIterations) {
        const fixedPoint = y.slice(0, kept);
        blocks.push({ context, states: states.map((s) => s.slice(0, kept)), fixedPoint });
        iterationsPerBlock.push(iteration);
        out.push(...fixedPoint);
        anchor = predicted[kept];                                                    // the greedy token after the block
        break;
      }
      y = predicted.slice(0, m);                                                     // y(j+1), the Jacobi update (Eq. 3)
    }
  }
  const stats = { ...makeStats(forwards, 1, out.length, positions, stopReason(out, eos, options.maxNewTokens)), iterationsPerBlock };
  return { tokens: out, stats, trajectory: { prompt: [...prompt], blockSize, blocks } };
}
