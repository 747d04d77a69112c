/**
 * What the training loop consumes: a {@link Dataset} that hands out packed sequences of exactly the
 * context length, deterministically from a seeded generator, plus a fixed held-out set.
 *
 * A packed sequence carries everything a forward over several documents needs: the tokens, the target
 * of each row (or {@link IGNORE} — prompt tokens and padding are not trained), the position of each row,
 * and an optional explicit visibility mask. Two packings are used:
 * - documents (math): several short documents side by side, positions restarting at 0 for each and a
 *   block-diagonal causal mask, so every document is seen exactly as at inference (prompt at position 0);
 *   the tail that no whole document fits in is padding (ignored targets, each row sees only itself).
 * - stream (text): an excerpt of `T + 1` consecutive characters of the concatenated corpus; plain causal.
 *
 * Datasets: {@link mathDataset} here, `codeDataset` and `fileDataset` in `text.ts`.
 *
 * Read next: `math.ts`, `text.ts`, then `src/training/trainer.ts`.
 *
 * @module
 */
import { CharTokenizer, SPECIAL_TOKENS, type Tokenizer } from "../model/tokenizer.ts";
import { Rng } from "../tensor/random.ts";
import { MATH_CHARS, mathEvalSet, mathPrompt, sampleMath, type MathProblem } from "./math.ts";

// ---------------------------------------------------------------- packed sequences

/**
 * Target of a row that is not trained (prompt tokens, padding): -1, the ignore index of `crossEntropy`.
 *
 * @category Data
 */
export const IGNORE = -1;

/**
 * One training sequence of T rows (several math documents packed side by side, or an excerpt of a
 * text corpus).
 *
 * @category Data
 */
export interface TrainingSequence {
  /** [T] input token ids. */
  readonly tokens: number[];
  /** [T] the token each row must predict, or {@link IGNORE}. */
  readonly targets: number[];
  /** [T] the position of each row (restarts at 0 for each packed document). */
  readonly positions: number[];
  /** [T, T] 1 where row i may attend to row j; null for plain causal attention. */
  readonly mask: Uint8Array | null;
}

/**
 * Thrown for unusable data: an empty or non-UTF-8 file, a document longer than the context.
 *
 * @example
 * ```ts
 * codeDataset("/nonexistent"); // throws DataError: codeFiles: cannot read the code corpus /nonexistent (ENOENT)
 * ```
 * @category Data
 */
export class DataError extends Error {
  /** @param message - the full message, starting with the function or file that found the problem */
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

/**
 * A document as token ids: `BOS text EOS`, where rows before `trainFrom` are not trained (they predict
 * prompt tokens, which are given, not generated).
 *
 * @category Data
 */
export interface Document {
  /** [n] BOS, the characters, EOS. */
  readonly tokens: number[];
  /** Index of the first token that is a target: row i is trained when i + 1 >= trainFrom. */
  readonly trainFrom: number;
}

/**
 * Packs whole documents into one sequence of `T` rows: positions restart at 0 in each document, each
 * document attends only to itself (causally), the rest is padding. The document that does not fit is
 * dropped (the stream is endless).
 *
 * @param draw - returns the next document
 * @example
 * ```ts
 * packDocuments(() => ({ tokens: [1, 5, 2], trainFrom: 2 }), 7).positions; // [0, 1, 2, 0, 1, 2, 0]
 * ```
 * @category Data
 */
export function packDocuments(draw: () => Document, T: number): TrainingSequence {
  const tokens: number[] = [];
  const targets: number[] = [];
  const positions: number[] = [];
  const starts: number[] = [];
  for (;;) {
    const doc = draw();
    if (doc.tokens.length > T) throw new DataError(`packDocuments: a document of ${doc.tokens.length} tokens does not fit the context length ${T}`);
    if (tokens.length + doc.tokens.length > T) break;
    const start = tokens.length;
    doc.tokens.forEach((id, i) => {
      tokens.push(id);
      positions.push(i);
      starts.push(start);
      const isLast = i === doc.tokens.length - 1;
      targets.push(!isLast && i + 1 >= doc.trainFrom ? doc.tokens[i + 1] : IGNORE);
    });
  }
  while (tokens.length < T) {
    starts.push(tokens.length);
    tokens.push(SPECIAL_TOKENS.pad);
    positions.push(0);
    targets.push(IGNORE);
  }
  const mask = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) for (let j = starts[i]; j <= i; j++) mask[i * T + j] = 1;
  return { tokens, targets, positions, mask };
}

// ---------------------------------------------------------------- the dataset interface

/**
 * A training corpus: a tokenizer, an endless deterministic stream of training sequences, and a fixed
 * held-out set.
 *
 * @category Data
 */
export interface Dataset {
  /** `math`, `code`, or the file path. */
  readonly name: string;
  /** The character vocabulary, built from the training text. */
  readonly tokenizer: CharTokenizer;
  /** The next training sequence of `T` rows; the stream is a function of `rng`'s state only. */
  trainSequence(rng: Rng, T: number): TrainingSequence;
  /** The held-out sequences for the held-out loss, the same on every call: at most `count`, of `T` rows. */
  heldoutSequences(T: number, count: number): TrainingSequence[];
  /**
   * A prompt from the TRAINING split, for collecting Jacobi trajectories (the data Jacobi Forcing
   * trains on must never come from held-out text). Math: BOS + the question line of a fresh training
   * problem, laid out exactly as {@link mathDocument}'s prompt. Text: `TEXT_PROMPT_LENGTH` (32,
   * `text.ts`) consecutive training ids at a random offset (BOS and EOS appear only where the stream has them).
   * The prompts are a function of `rng`'s state only.
   *
   * @returns [P] token ids
   * @example
   * ```ts
   * mathDataset().trainPrompt(new Rng(0));   // [1, 7, 12, 8, 4, 12, 3]: BOS "051*5\n"
   * codeDataset().trainPrompt(new Rng(0)).length; // 32
   * ```
   */
  trainPrompt(rng: Rng): number[];
  /** A short human description (size of the splits). */
  readonly description: string;
  /** Text corpora: the unigram distribution of the training ids (add-one smoothed), the baseline of bits per character. */
  readonly unigram?: Float64Array;
}

// ---------------------------------------------------------------- math

/**
 * The prompt of a math problem as token ids: BOS, the question, a newline — what evaluation decodes
 * from, what training masks out, and what trajectory collection starts from.
 *
 * @returns [P] token ids, P = 1 + the question's length + 1
 * @example
 * ```ts
 * mathPromptIds(mathDataset().tokenizer, solveMath(734, "+", 259)).length; // 9 (BOS + "734+259\n")
 * ```
 * @category Data
 */
export function mathPromptIds(tokenizer: Tokenizer, problem: MathProblem): number[] {
  return tokenizer.encodePrompt(mathPrompt(problem));
}

/**
 * The math problem as a document: `BOS question \n solution EOS`, trained from the solution on.
 *
 * @example
 * ```ts
 * mathDocument(mathDataset().tokenizer, solveMath(734, "+", 259)).trainFrom; // 9 (BOS + "734+259\n")
 * ```
 * @category Data
 */
export function mathDocument(tokenizer: CharTokenizer, problem: MathProblem): Document {
  const prompt = mathPromptIds(tokenizer, problem);
  return { tokens: [...prompt, ...tokenizer.encode(problem.solution), SPECIAL_TOKENS.eos], trainFrom: prompt.length };
}

/**
 * The synthetic arithmetic dataset of `math.ts`, packed as documents.
 *
 * @example
 * ```ts
 * const data = mathDataset();
 * data.trainSequence(new Rng(1), 128).tokens.length; // 128
 * ```
 * @category Data
 */
export function mathDataset(): Dataset {
  const tokenizer = CharTokenizer.fromText(MATH_CHARS);
  return {
    name: "math",
    tokenizer,
    description: "synthetic arithmetic (3-digit + and -, 3-digit * 1-digit), step by step; held out: 1/10 of questions by hash",
    trainSequence: (rng, T) => packDocuments(() => mathDocument(tokenizer, sampleMath(rng, "train")), T),
    trainPrompt: (rng) => mathPromptIds(tokenizer, sampleMath(rng, "train")),
    heldoutSequences: (T, count) => {
      const problems = mathEvalSet(count * Math.ceil(T / 40), 7);
      let next = 0;
      const out: TrainingSequence[] = [];
      for (let s = 0; s < count && next < problems.length; s++) {
        out.push(packDocuments(() => mathDocument(tokenizer, problems[next++ % problems.length]), T));
      }
      return out;
    },
  };
}
