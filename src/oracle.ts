/**
 * `jacobi-forcing/oracle`: the entry point for testing another implementation of Jacobi decoding against
 * this one on the same checkpoint. It gathers the simplest, slowest, most obviously right code of the
 * project — nothing here is fast, everything here is the definition:
 *
 * | what | function | paper |
 * |---|---|---|
 * | checkpoint loading (Hugging Face `config.json` + safetensors + our `tokenizer.json`) | {@link loadCheckpoint} | — |
 * | the forward: T token ids → [T, V] logits, float64, batch-invariant | {@link forward} | — |
 * | argmax, lowest token id wins ties | {@link argmax} | — |
 * | AR greedy, full recompute at every step (the oracle of every decoder) | {@link arGreedyReference} | §2.1 Eq. 1 |
 * | block Jacobi, full recompute at every iteration, with its trajectory | {@link jacobiReference} | §2.1 Eq. 2–4 |
 * | the acceptance rule and the EOS rule every parallel decoder shares | {@link acceptedPrefixLength}, {@link keepThroughEos} | docs/ALGORITHM.md §1 |
 * | the token budget, and why a decode stopped (EOS, budget or context) | {@link generationBudget}, {@link stopReason} | — |
 * | a comparison whose failure names the first differing token and its context | {@link firstDifference} | — |
 *
 * Usage (`npm install jacobi-forcing`; plain Node, ESM or `require`, with its type declarations):
 * ```ts
 * import { loadCheckpoint, arGreedyReference, firstDifference } from "jacobi-forcing/oracle";
 * const { config, params } = loadCheckpoint("models/math-teacher");
 * const expected = arGreedyReference(config, params, prompt, { maxNewTokens: 64 }).tokens;
 * const diff = firstDifference(expected, myJacobi(prompt));
 * if (diff !== null) throw new Error(diff.message);
 * ```
 * From another language, use the CLI's `logits --json` and `generate --json` instead: `docs/oracle.md`
 * has a worked Python example.
 *
 * Stability: the names exported here, their parameters and their results keep their meaning for every
 * 0.x release; additions only. The rest of `src/` may change shape between releases.
 *
 * What it is not: a fast path. For speed use `arGreedy`, `jacobi` and `multiBlock` (`src/decoding/`),
 * which are property-tested against these functions token for token.
 *
 * @module jacobi-forcing/oracle
 */
import { commonPrefixLength } from "./util/sequences.ts";

export type { Checkpoint } from "./model/checkpoint.ts";
export { loadCheckpoint } from "./node/checkpoint-folder.ts";
export { CheckpointError } from "./model/safetensors.ts";
export type { ModelConfig } from "./model/config.ts";
export type { Params } from "./model/params.ts";
export { CharTokenizer, SPECIAL_TOKENS, type Tokenizer } from "./model/tokenizer.ts";
export { forward, type ForwardOptions } from "./model/transformer.ts";
export { Tensor } from "./tensor/tensor.ts";
export { argmax } from "./tensor/ops.ts";
export { arGreedyReference, type GenerationResult } from "./decoding/greedy.ts";
export { jacobiReference, type JacobiReferenceOptions, type JacobiReferenceResult } from "./decoding/jacobi-reference.ts";
export {
  DecodingError, acceptedPrefixLength, generationBudget, keepThroughEos, stopReason, stopToken, type DecodeStats, type StopOptions,
  type StopReason,
} from "./decoding/acceptance.ts";
export { firstMismatch, type Trajectory, type TrajectoryBlock } from "./decoding/trajectory.ts";

/**
 * Where two token sequences first differ, as {@link firstDifference} reports it.
 *
 * @category Oracle
 */
export interface TokenDifference {
  /** The first index where they differ (or where the shorter one ends). */
  readonly index: number;
  /** The oracle's token there, or null when the oracle's output ended first. */
  readonly expected: number | null;
  /** The tested implementation's token there, or null when its output ended first. */
  readonly actual: number | null;
  /** One line for a failing test: the index, both tokens, and the four tokens before them. */
  readonly message: string;
}

/**
 * The first place where `actual` differs from `expected` (the oracle's output), or null when they are
 * equal token for token. Equal means equal: 99 % agreement is a failure, and this says where it starts.
 *
 * @param expected - the oracle's tokens, e.g. `arGreedyReference(...).tokens`
 * @param actual - the tokens of the implementation under test
 * @example
 * ```ts
 * firstDifference([5, 6, 7], [5, 6, 7]);      // null
 * firstDifference([5, 6, 7, 8], [5, 6, 9]);
 * // { index: 2, expected: 7, actual: 9, message: "token 2 differs: expected 7, got 9 (after 5, 6)" }
 * ```
 * @category Oracle
 */
export function firstDifference(expected: readonly number[], actual: readonly number[]): TokenDifference | null {
  const index = commonPrefixLength(expected, actual);
  if (index === expected.length && index === actual.length) return null;
  const at = (a: readonly number[]): number | null => (index < a.length ? a[index] : null);
  const show = (t: number | null): string => (t === null ? "the end of the output" : String(t));
  const before = expected.slice(Math.max(0, index - 4), index);
  const context = index === 0 ? "at the start" : `after ${index > 4 ? "... " : ""}${before.join(", ")}`;
  return {
    index,
    expected: at(expected),
    actual: at(actual),
    message: `token ${index} differs: expected ${show(at(expected))}, got ${show(at(actual))} (${context})`,
  };
}
