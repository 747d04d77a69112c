/**
 * Draft initialisation: how the draft tokens of a fresh block are first guessed, before any forward has
 * seen them. A block starts as its anchor (the model's token after the committed text, always right)
 * followed by these guesses; Jacobi iterations then correct them.
 *
 * Correctness never depends on the guesses — the acceptance rule verifies every one — only speed does.
 * One module so that the fast decoders (`jacobi.ts`, `multiblock.ts`) and the slow oracle
 * (`jacobi-reference.ts`) draw exactly the same drafts from the same seed, without the oracle importing
 * the code it checks.
 *
 * Paper: §2.1; docs/ALGORITHM.md §1 ("Draft initialisation"). Read next: `jacobi.ts`.
 *
 * @module
 */
import { eosIds, type ModelConfig } from "../model/config.ts";
import type { Rng } from "../tensor/random.ts";

/**
 * How the draft tokens of a block are first guessed. Correctness never depends on it; speed does.
 * - `'context'`: uniform, with replacement, from the prompt and the text generated so far (the
 *   reference code's choice: real text often repeats);
 * - `'vocab'`: uniform over the whole vocabulary;
 * - `'repeat-last'`: the token just before the draft slots, repeated (deterministic: for a fresh block,
 *   every slot holds the anchor);
 * - `'pad'`: the pad token.
 *
 * @category Decoding
 */
export type DraftInit = "context" | "vocab" | "repeat-last" | "pad";

/**
 * Every {@link DraftInit}, in documentation order.
 *
 * @category Decoding
 */
export const DRAFT_INITS: readonly DraftInit[] = ["context", "vocab", "repeat-last", "pad"];

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
 * draftTokens("pad", 2, [1, 40, 41], 7, new Rng(0), PRESETS.tiny);         // [0, 0]: the pad id, twice
 * ```
 * @category Decoding
 */
export function draftTokens(init: DraftInit, count: number, text: readonly number[], last: number, rng: Rng, config: ModelConfig): number[] {
  const draw: Record<DraftInit, () => number> = {
    context: () => text[rng.int(text.length)],
    vocab: () => rng.int(config.vocabSize),
    "repeat-last": () => last,
    pad: () => config.padTokenId ?? eosIds(config)[0] ?? 0,
  };
  return Array.from({ length: count }, draw[init]);
}
