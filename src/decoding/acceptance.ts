/**
 * The rules every decoder shares: when generation stops (the EOS rule and the token budget), which
 * prefix of a verified draft is committed (the acceptance rule), and the statistics every decoder
 * reports. One implementation of each, so that AR greedy, Jacobi and multi-block decoding cannot
 * disagree on which tokens are right or where an output ends.
 *
 * docs/ALGORITHM.md §1: generation stops after the first EOS (which is kept in the output) or once the
 * budget is reached; the budget is `maxNewTokens`, capped by the room left in the context, so that prompt
 * plus output never exceed the context length (a 255-token prompt in a context of 256 leaves room for one
 * token). Every decoder's stats say which of the three ended it (`stopReason`).
 *
 * @module
 */
import { isEos, type Eos, type ModelConfig } from "../model/config.ts";

// ---------------------------------------------------------------- options and errors

/**
 * Thrown for bad decoding options or prompts; the message names the function, the value and what was expected.
 *
 * @example
 * ```ts
 * jacobi(config, params, [1, 40], { maxNewTokens: 8, blockSize: 0 }); // throws DecodingError: jacobi: blockSize must be a positive integer, got 0
 * ```
 * @category Decoding
 */
export class DecodingError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "DecodingError";
}

/**
 * Options every decoder takes: stop at the config's EOS (or `eosTokenId`; `null` ignores EOS) or after
 * `maxNewTokens` tokens, whichever comes first.
 *
 * @category Decoding
 */
export interface StopOptions {
  /** Most tokens to generate (EOS included). */
  readonly maxNewTokens: number;
  /** Token, or tokens, that end generation; default `config.eosTokenId`; `null` generates until the budget. */
  readonly eosTokenId?: Eos;
}

/**
 * `value` if `ok(value)`, else a {@link DecodingError}: `where: name must be expected, got value`. The
 * one check behind every decoding option.
 *
 * @param expected - what the option must be, e.g. `"a number in (0, 1]"`
 * @example
 * ```ts
 * checkOption("multiBlock", "poolSize", -1, (n) => Number.isInteger(n) && n >= 0, "a non-negative integer");
 * // throws: multiBlock: poolSize must be a non-negative integer, got -1
 * ```
 * @category Decoding
 */
export function checkOption<T>(where: string, name: string, value: T, ok: (value: T) => boolean, expected: string): T {
  if (!ok(value)) throw new DecodingError(`${where}: ${name} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

/**
 * `value` if it is a positive integer, else a {@link DecodingError} naming the option.
 *
 * @example
 * ```ts
 * positiveIntegerOption("jacobi", "blockSize", 0); // throws: jacobi: blockSize must be a positive integer, got 0
 * ```
 * @category Decoding
 */
export function positiveIntegerOption(where: string, name: string, value: number): number {
  return checkOption(where, name, value, (n) => Number.isInteger(n) && n >= 1, "a positive integer");
}

/**
 * `value` if it is one of `allowed`, else a {@link DecodingError} listing them.
 *
 * @example
 * ```ts
 * oneOf("jacobi", "mode", "blocks", ["block", "window"]); // throws: jacobi: mode must be one of "block", "window", got "blocks"
 * ```
 * @category Decoding
 */
export function oneOf<T extends string>(where: string, name: string, value: T, allowed: readonly T[]): T {
  return checkOption(where, name, value, (v) => allowed.includes(v), `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
}

// ---------------------------------------------------------------- the stopping rule

/**
 * How many tokens a decoder may generate after `prompt`: `maxNewTokens`, capped so that prompt plus
 * output fit in the context (every committed token must have a row in the KV cache).
 *
 * @throws DecodingError for an empty prompt, a prompt longer than the context, or a bad `maxNewTokens`
 * @example
 * ```ts
 * generationBudget(PRESETS.tiny, [1, 5, 6], { maxNewTokens: 500 }, "arGreedy"); // 125 (= 128 - 3)
 * ```
 * @category Decoding
 */
export function generationBudget(config: ModelConfig, prompt: ArrayLike<number>, options: StopOptions, where: string): number {
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new DecodingError(`${where}: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  }
  if (prompt.length === 0) throw new DecodingError(`${where}: the prompt must hold at least one token`);
  if (prompt.length > config.maxPositions) {
    throw new DecodingError(`${where}: the prompt has ${prompt.length} tokens, more than the context length ${config.maxPositions}`);
  }
  for (let i = 0; i < prompt.length; i++) {
    const id = prompt[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new DecodingError(`${where}: prompt token ${id} at index ${i} is outside the vocabulary 0..${config.vocabSize - 1}`);
    }
  }
  return Math.min(maxNewTokens, config.maxPositions - prompt.length);
}

/**
 * The EOS id in force: the option if given (null disables), else the config's.
 *
 * @example
 * ```ts
 * stopToken(PRESETS.tiny, { maxNewTokens: 8 });                    // 2, the config's EOS
 * stopToken(PRESETS.tiny, { maxNewTokens: 8, eosTokenId: null });  // null: generate to the budget
 * ```
 * @category Decoding
 */
export function stopToken(config: ModelConfig, options: StopOptions): Eos {
  return options.eosTokenId === undefined ? config.eosTokenId : options.eosTokenId;
}

/**
 * The stop test every decoder runs after committing tokens: the output is finished once it holds
 * `budget` tokens ({@link generationBudget}) or ends with the EOS in force.
 *
 * @param tokens - the output so far (the prompt not included)
 * @example
 * ```ts
 * generationFinished([5, 6], 4, 2);    // false
 * generationFinished([5, 2], 4, 2);    // true: EOS
 * generationFinished([5, 6], 2, null); // true: the budget
 * ```
 * @category Decoding
 */
export function generationFinished(tokens: ArrayLike<number>, budget: number, eos: Eos): boolean {
  return tokens.length >= budget || (tokens.length > 0 && isEos(eos, tokens[tokens.length - 1]));
}

/**
 * Why a decode stopped: it generated EOS (`"eos"`), it generated the `maxNewTokens` asked for
 * (`"budget"`), or prompt plus output filled the model's context length first (`"context"`).
 *
 * @category Decoding
 */
export type StopReason = "eos" | "budget" | "context";

/**
 * Why a finished output stopped ({@link StopReason}): EOS if it ends with the EOS in force, else the
 * budget if it holds all `maxNewTokens` asked for, else the context (the budget was capped by it). An
 * output that both ends in EOS and fills the budget stopped for EOS.
 *
 * @param tokens - the finished output (the prompt not included)
 * @example
 * ```ts
 * stopReason([5, 2], 2, 8);          // "eos"
 * stopReason([5, 6, 7], 2, 3);       // "budget"
 * stopReason([5], null, 10);         // "context": a 255-token prompt in a context of 256 leaves room for 1
 * ```
 * @category Decoding
 */
export function stopReason(tokens: ArrayLike<number>, eos: Eos, maxNewTokens: number): StopReason {
  if (tokens.length > 0 && isEos(eos, tokens[tokens.length - 1])) return "eos";
  return tokens.length >= maxNewTokens ? "budget" : "context";
}

/**
 * The EOS rule: how many of `tokens` to keep — up to and including the first EOS, or all of them.
 *
 * @example
 * ```ts
 * keepThroughEos([5, 2, 7], 2); // 2
 * keepThroughEos([5, 6, 7], 2); // 3
 * ```
 * @category Decoding
 */
export function keepThroughEos(tokens: ArrayLike<number>, eos: Eos): number {
  for (let i = 0; i < tokens.length; i++) if (isEos(eos, tokens[i])) return i + 1;
  return tokens.length;
}

// ---------------------------------------------------------------- the acceptance rule

/**
 * How many tokens of a verified draft to commit: the longest prefix the model agrees with, cut after
 * the first EOS. The one acceptance rule of every parallel decoder (Jacobi, multi-block).
 *
 * `draft` [T] was forwarded right after the committed text and `greedy` [T] is the argmax of each row of
 * that forward, so `greedy[i]` is the model's token after `draft[0..i]`. `draft[0]` is the anchor — the
 * greedy token after the committed text — and is always right. `draft[i]` (i ≥ 1) is right exactly when
 * it equals `greedy[i-1]` and everything before it was right (causal attention: row i-1 saw only
 * `draft[0..i-1]`). So
 *
 *   accepted = 1 + #(leading i ≥ 1 with draft[i] == greedy[i-1]),  then cut by {@link keepThroughEos}.
 *
 * The result is in `1 .. T`: every verification commits at least one token.
 *
 * @param draft - [T] the tokens forwarded, anchor first
 * @param greedy - [T] (or [T-1]) argmax of the rows of that forward
 * @param eos - the EOS id in force, or null
 * @throws DecodingError for an empty draft or a `greedy` shorter than T-1
 * @example
 * ```ts
 * acceptedPrefixLength([7, 8, 9, 4], [8, 9, 5, 6], null); // 3: 8 and 9 verified, 4 ≠ 5
 * acceptedPrefixLength([7, 2, 9, 4], [2, 9, 4, 6], 2);    // 2: all verified, cut after EOS (2)
 * ```
 * @category Decoding
 */
export function acceptedPrefixLength(draft: ArrayLike<number>, greedy: ArrayLike<number>, eos: Eos): number {
  if (draft.length === 0) throw new DecodingError("acceptedPrefixLength: the draft must hold at least the anchor token, got none");
  if (greedy.length < draft.length - 1) {
    throw new DecodingError(`acceptedPrefixLength: expected at least ${draft.length - 1} greedy tokens for a draft of ${draft.length}, got ${greedy.length}`);
  }
  let accepted = 1;                                            // the anchor was predicted from committed text
  while (accepted < draft.length && draft[accepted] === greedy[accepted - 1]) accepted++;
  return Math.min(accepted, keepThroughEos(draft, eos));
}

// ---------------------------------------------------------------- statistics

/**
 * What a decoding run cost. A "decode forward" is one forward during generation; the prefill of the
 * prompt is counted apart. Every committed token passes through exactly one decode forward, so AR greedy
 * has `tokensPerForward = 1` and any faster decoder has more.
 *
 * @category Decoding
 */
export interface DecodeStats {
  /** Decode forwards (the prefill excluded). */
  readonly forwards: number;
  /** Forwards over the prompt before decoding (1 for cached decoders, 0 for the reference). */
  readonly prefillForwards: number;
  /** Tokens generated and committed. */
  readonly committedTokens: number;
  /** TPF = committedTokens / forwards (0 when nothing was generated). */
  readonly tokensPerForward: number;
  /** Sum of the widths of all decode forwards: the compute the speedup costs. */
  readonly tokenPositions: number;
  /** Why the decode stopped: EOS, the `maxNewTokens` budget, or the context length ({@link stopReason}). */
  readonly stopReason: StopReason;
}

/**
 * Assembles {@link DecodeStats} from counts.
 *
 * @example
 * ```ts
 * makeStats(10, 1, 25, 160, "eos");
 * // { forwards: 10, prefillForwards: 1, committedTokens: 25, tokensPerForward: 2.5, tokenPositions: 160, stopReason: "eos" }
 * ```
 * @category Decoding
 */
export function makeStats(forwards: number, prefillForwards: number, committedTokens: number, tokenPositions: number, stop: StopReason): DecodeStats {
  return {
    forwards,
    prefillForwards,
    committedTokens,
    tokensPerForward: forwards === 0 ? 0 : committedTokens / forwards,
    tokenPositions,
    stopReason: stop,
  };
}
