/**
 * Task evaluations of a trained model, independent of how it decodes: math accuracy (exact match of
 * the final answer on held-out problems) and decoding speed on code — the greedy continuation of
 * held-out prefixes, measured the way the results table (docs/results.md) measures it.
 *
 * The decoder is passed in as a function, so the same evaluation serves AR greedy and every Jacobi
 * variant; this module imports neither `decoding` nor `training` (layers: `data`, `model` below it,
 * `cli` above it).
 *
 * Read next: `src/data/math.ts` (the task), `src/cli/` (who passes the decoder).
 *
 * @module
 */
import { mathPromptIds, type TrainingSequence } from "../data/dataset.ts";
import { extractAnswer, type MathProblem } from "../data/math.ts";
import type { Tokenizer } from "../model/tokenizer.ts";

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
 * A decoder: prompt ids and a budget in, generated ids out; with `ignoreEos` it generates past EOS, up
 * to the budget.
 *
 * @category Evaluation
 */
export type Decode = (prompt: readonly number[], maxNewTokens: number, options?: { readonly ignoreEos?: boolean }) => Generation;

/**
 * Called after each prompt of an evaluation: how many are done, of how many.
 *
 * @category Evaluation
 */
export type OnProgress = (done: number, total: number) => void;

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

/** Decodes each prompt in turn for up to `maxNewTokens`, counting tokens, forwards and seconds. */
function decodeAll(
  prompts: readonly (readonly number[])[], decode: Decode, maxNewTokens: number, options: Parameters<Decode>[2], onProgress?: OnProgress,
): CodeSpeedResult {
  let tokens = 0, forwards = 0;
  const outputs: (readonly number[])[] = [];
  const start = performance.now();
  prompts.forEach((prompt, i) => {
    const out = decode(prompt, maxNewTokens, options);
    tokens += out.tokens.length;
    forwards += out.forwards;
    outputs.push(out.tokens);
    onProgress?.(i + 1, prompts.length);
  });
  return { tokens, forwards, seconds: (performance.now() - start) / 1000, outputs };
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
 * The result of {@link mathAccuracy}.
 *
 * @category Evaluation
 */
export interface MathResult extends DecodeTotals {
  /** Fraction of problems whose final answer matches exactly. */
  readonly accuracy: number;
  /** Number of problems. */
  readonly examples: number;
  /** Problems answered wrongly. */
  readonly wrong: number;
  /** The first {@link MATH_FAILURES_KEPT} wrong answers: question, expected and generated text. */
  readonly failures: MathFailure[];
}

/**
 * How many wrong answers {@link mathAccuracy} keeps to show: 5 (the count of all is `wrong`).
 *
 * @category Evaluation
 */
export const MATH_FAILURES_KEPT = 5;

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
 * mathAccuracy(tokenizer, problems, decode, (done, total) => console.error(`${done}/${total}`));  // with progress
 * ```
 * @category Evaluation
 */
export function mathAccuracy(tokenizer: Tokenizer, problems: readonly MathProblem[], decode: Decode, onProgress?: OnProgress): MathResult {
  const { outputs, tokens, forwards, seconds } = decodeAll(problems.map((p) => mathPromptIds(tokenizer, p)), decode, 64, undefined, onProgress);
  let correct = 0;
  const failures: MathFailure[] = [];
  problems.forEach((p, i) => {
    const text = tokenizer.decode(outputs[i]);
    if (extractAnswer(text) === p.answer) correct++;
    else if (failures.length < MATH_FAILURES_KEPT) failures.push({ question: p.question, expected: p.answer, got: text });
  });
  const wrong = problems.length - correct;
  return { accuracy: correct / Math.max(problems.length, 1), examples: problems.length, wrong, failures, tokens, forwards, seconds };
}

// ---------------------------------------------------------------- decoding speed on code

/**
 * How decoding speed is measured on code, by `eval --data code` and by the results table
 * (docs/results.md, `npm run results`), so that both report the same TPF: the greedy continuation, EOS
 * ignored, of `newTokens` tokens after the first `prefixLength` tokens of `prefixes` held-out windows
 * spread over all of them ({@link codeSpeedPrompts}).
 *
 * @category Evaluation
 */
export const CODE_SPEED = {
  /** Held-out windows whose beginnings are continued. */
  prefixes: 20,
  /** Tokens (characters) at the start of each window that form its prompt. */
  prefixLength: 64,
  /** Tokens generated after each prompt, EOS ignored. */
  newTokens: 96,
} as const;

/**
 * The prompts of the code speed measurement: the first `length` tokens of `count` held-out windows,
 * every `floor(windows / count)`-th one from the first (all of them when there are fewer).
 *
 * @param windows - every held-out window, in order (`dataset.heldoutSequences(T, Infinity)`)
 * @example
 * ```ts
 * codeSpeedPrompts(codeDataset().heldoutSequences(256, Infinity)).map((p) => p.length); // twenty 64s: every 7th of 154 windows
 * ```
 * @category Evaluation
 */
export function codeSpeedPrompts(
  windows: readonly Pick<TrainingSequence, "tokens">[], count: number = CODE_SPEED.prefixes, length: number = CODE_SPEED.prefixLength,
): number[][] {
  const step = Math.max(1, Math.floor(windows.length / count));
  return Array.from({ length: Math.min(count, windows.length) }, (_, i) => windows[i * step].tokens.slice(0, length));
}

/**
 * The result of {@link codeSpeed}: the totals, and what was generated after each prompt.
 *
 * @category Evaluation
 */
export interface CodeSpeedResult extends DecodeTotals {
  /** Per prompt, the tokens generated after it. */
  readonly outputs: readonly (readonly number[])[];
}

/**
 * Decodes each prompt for {@link CODE_SPEED}`.newTokens` tokens, EOS ignored, and counts tokens,
 * forwards and seconds: the code measurement of the results table.
 *
 * @example
 * ```ts
 * const r = codeSpeed(codeSpeedPrompts(windows), decode);
 * r.tokens / r.forwards; // TPF: 1.37 for models/code-jf with Jacobi n = 16, as in docs/results.md
 * ```
 * @category Evaluation
 */
export function codeSpeed(prompts: readonly (readonly number[])[], decode: Decode, onProgress?: OnProgress): CodeSpeedResult {
  return decodeAll(prompts, decode, CODE_SPEED.newTokens, { ignoreEos: true }, onProgress);
}
