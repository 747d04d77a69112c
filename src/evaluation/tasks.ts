/**
 * Task evaluations of a trained model, independent of how it decodes: math accuracy (exact match of
 * the final answer on held-out problems) and the greedy continuation of held-out text prefixes.
 *
 * The decoder is passed in as a function, so the same evaluation serves AR greedy and every Jacobi
 * variant; this module imports neither `decoding` nor `training` (layers: `data`, `model` below it,
 * `cli` above it).
 *
 * Read next: `src/data/math.ts` (the task), `src/cli/` (who passes the decoder).
 *
 * @module
 */
import { extractAnswer, mathPrompt, type MathProblem } from "../data/math.ts";
import type { CharTokenizer } from "../model/tokenizer.ts";
import { SPECIAL_TOKENS } from "../model/tokenizer.ts";

// ---------------------------------------------------------------- the decoder interface

/**
 * What a decoder reports for one prompt.
 *
 * @category Evaluation
 */
export interface Generation {
  /** Generated token ids (not the prompt), ending with EOS when one was generated. */
  readonly tokens: readonly number[];
  /** Decode forwards used (the prefill not counted). */
  readonly forwards: number;
}

/**
 * A decoder: prompt ids (BOS first) and a budget in, generated ids out.
 *
 * @category Evaluation
 */
export type Decode = (prompt: readonly number[], maxNewTokens: number) => Generation;

/**
 * Aggregate numbers of an evaluation.
 *
 * @category Evaluation
 */
export interface DecodeTotals {
  /** Generated tokens over all prompts. */
  readonly tokens: number;
  /** Decode forwards over all prompts. */
  readonly forwards: number;
  /** Wall-clock seconds spent decoding. */
  readonly seconds: number;
}

// ---------------------------------------------------------------- math

/**
 * A held-out problem answered wrongly.
 *
 * @category Evaluation
 */
export interface MathFailure {
  /** The question as written in the prompt. */
  readonly question: string;
  /** The reference answer. */
  readonly expected: string;
  /** What the model wrote. */
  readonly got: string;
}

/**
 * A held-out prefix and the model's greedy continuation of it.
 *
 * @category Evaluation
 */
export interface Continuation {
  /** The prefix given. */
  readonly prefix: string;
  /** The characters the model wrote after it. */
  readonly continuation: string;
}

/**
 * The result of {@link mathAccuracy}.
 *
 * @category Evaluation
 */
export interface MathResult extends DecodeTotals {
  /** Fraction of problems whose final answer matches exactly. */
  readonly accuracy: number;
  /** Number of problems. */
  readonly examples: number;
  /** The first few wrong answers: question, expected and generated text. */
  readonly failures: MathFailure[];
}

/**
 * Exact-match accuracy of the final answer: each problem's prompt (BOS, question, newline) is decoded
 * greedily for up to 64 tokens; the text after the last `A:` must equal the reference answer.
 *
 * @example
 * ```ts
 * const decode: Decode = (prompt, maxNewTokens) => {
 *   const r = jacobi(config, params, [...prompt], { maxNewTokens, blockSize: 16 });
 *   return { tokens: r.tokens, forwards: r.stats.forwards };
 * };
 * const { accuracy, tokens, forwards } = mathAccuracy(tokenizer, mathEvalSet(500, 1234), decode);
 * // accuracy: the share of the 500 answers right; tokens / forwards: Jacobi's tokens per forward
 * ```
 * @category Evaluation
 */
export function mathAccuracy(tokenizer: CharTokenizer, problems: readonly MathProblem[], decode: Decode): MathResult {
  let correct = 0, tokens = 0, forwards = 0;
  const failures: MathResult["failures"] = [];
  const start = performance.now();
  for (const p of problems) {
    const prompt = [SPECIAL_TOKENS.bos, ...tokenizer.encode(mathPrompt(p))];
    const out = decode(prompt, 64);
    tokens += out.tokens.length;
    forwards += out.forwards;
    const text = tokenizer.decode(out.tokens);
    if (extractAnswer(text) === p.answer) correct++;
    else if (failures.length < 5) failures.push({ question: p.question, expected: p.answer, got: text });
  }
  const seconds = (performance.now() - start) / 1000;
  return { accuracy: correct / Math.max(problems.length, 1), examples: problems.length, failures, tokens, forwards, seconds };
}

// ---------------------------------------------------------------- text continuation

/**
 * Greedy continuations of `prefixes` (text after BOS), each for `length` tokens, as text.
 *
 * @throws TokenizerError when a prefix holds a character the vocabulary lacks
 * @example
 * ```ts
 * continueText(tokenizer, ["interface Array<T> {"], 40, decode)[0].continuation; // the greedy next 40 characters
 * ```
 * @category Evaluation
 */
export function continueText(tokenizer: CharTokenizer, prefixes: readonly string[], length: number, decode: Decode): Continuation[] {
  return prefixes.map((prefix) => {
    const out = decode([SPECIAL_TOKENS.bos, ...tokenizer.encode(prefix)], length);
    return { prefix, continuation: tokenizer.decode(out.tokens) };
  });
}
